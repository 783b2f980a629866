"""Residual generators for image restoration: SRResNet/EDSR (super-resolution) and DeblurGAN's ResNet.

source [B, h, w, C_in] -> image [B, H, W, C] with H / h = scale in {1, 2, 4, 8}:
- head: a `edge_kernel` x `edge_kernel` convolution (SRGAN 9, DeblurGAN 7) and ReLU;
- `downsample` stride-2 convolutions (DeblurGAN: 2, so the residual blocks run at a quarter of the size);
- `blocks` residual blocks conv3x3-norm-ReLU-conv3x3-norm + skip (`norm`: batch as in SRGAN, none as in
  EDSR/EPSR, which found batchnorm hurts restoration, instance as in DeblurGAN), then conv-norm and the long
  skip around all blocks (SRResNet);
- `downsample` stride-2 transposed convolutions back;
- sub-pixel upsampling (Shi et al. 2016): log2(scale) times conv to 4x the channels + depth-to-space(2) + ReLU;
  cheaper than transposed convolutions and free of their checkerboard artifacts;
- tail: conv to the image channels, tanh (float32).
`global_skip` (DeblurGAN) adds the source to the tail's output, so the network learns the residual to its
input; the tail starts at zero, so an untrained generator returns its input (the best trivial guess for a
blurred image) and training only has to learn the correction.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from kgan.nets.common import normalization

SCALES = (1, 2, 4, 8)


def scale_of(source_shape, image_shape) -> int:
    """The upsampling factor from source to image; ValueError unless it is one of SCALES on both axes."""
    (h, w), (height, width) = source_shape[:2], image_shape[:2]
    scale = height // h
    if scale not in SCALES or (h * scale, w * scale) != (height, width):
        raise ValueError(f"source {tuple(source_shape)} -> image {tuple(image_shape)}: the scale must be one of "
                         f"{SCALES} on both axes")
    return scale


def residual_generator(source_shape, image_shape, *, width: int = 64, blocks: int = 16, norm: str = "none",
                       edge_kernel: int = 9, downsample: int = 0, global_skip: bool = False) -> keras.Model:
    """See the module docstring; the input is named `source`."""
    scale = scale_of(source_shape, image_shape)
    channels = int(image_shape[-1])
    if global_skip and (scale != 1 or int(source_shape[-1]) != channels):
        raise ValueError("global_skip adds the source to the output: it needs a source shaped like the image")
    source = keras.Input(tuple(source_shape), name="source")
    x = layers.ReLU(name="head_act")(layers.Conv2D(width, edge_kernel, padding="same", name="head")(source))
    for i in range(downsample):
        x = layers.Conv2D(width * 2 ** (i + 1), 3, strides=2, padding="same", name=f"down_{i}")(x)
        x = layers.ReLU(name=f"down_{i}_act")(normalization(norm, f"down_{i}_norm")(x))
    trunk = x
    filters = int(x.shape[-1])
    for b in range(blocks):
        y = layers.Conv2D(filters, 3, padding="same", name=f"block_{b}_conv_a")(x)
        y = layers.ReLU(name=f"block_{b}_act")(normalization(norm, f"block_{b}_norm_a")(y))
        y = normalization(norm, f"block_{b}_norm_b")(layers.Conv2D(filters, 3, padding="same",
                                                                   name=f"block_{b}_conv_b")(y))
        x = layers.Add(name=f"block_{b}_skip")([x, y])
    x = normalization(norm, "trunk_norm")(layers.Conv2D(filters, 3, padding="same", name="trunk_conv")(x))
    x = layers.Add(name="long_skip")([trunk, x])
    for i in reversed(range(downsample)):
        x = layers.Conv2DTranspose(width * 2 ** i, 3, strides=2, padding="same", name=f"up_{i}")(x)
        x = layers.ReLU(name=f"up_{i}_act")(normalization(norm, f"up_{i}_norm")(x))
    for i in range(scale.bit_length() - 1):
        x = layers.Conv2D(width * 4, 3, padding="same", name=f"subpixel_{i}_conv")(x)
        x = layers.ReLU(name=f"subpixel_{i}_act")(ops.depth_to_space(x, 2))
    tail = layers.Conv2D(channels, edge_kernel, padding="same", name="tail",
                         kernel_initializer="zeros" if global_skip else "glorot_uniform")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(tail)
    if global_skip:
        image = ops.clip(layers.Add(dtype="float32", name="global_skip")([source, image]), -1.0, 1.0)
    return keras.Model(source, image, name="generator")
