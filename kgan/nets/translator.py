"""The ResNet translator of CycleGAN (Zhu et al. 2017, appendix 7.2; Johnson et al. 2016's architecture).

image [B, H, W, C_in] -> image [B, H, W, C]:
c7s1-k (reflection pad 3, 7x7 conv, instance norm, ReLU), d2k, d4k (3x3 stride-2 convolutions, instance norm,
ReLU), `blocks` residual blocks R4k (reflection pad 1, 3x3 conv, norm, ReLU, pad, conv, norm, + skip), u2k, uk
(3x3 stride-2 transposed convolutions, norm, ReLU), c7s1-C (pad 3, 7x7 conv, tanh, float32). The paper uses
6 blocks at 128 px and 9 at 256 px, k = 64. Instance normalization is `GroupNormalization(groups=-1)`: one
group per channel, statistics per example, so a translation does not depend on the rest of the batch.
H and W must be divisible by 4 (the two downsamplings).
"""

from __future__ import annotations

import keras
from keras import layers

from kgan.layers import ReflectionPad2D
from kgan.nets.common import normalization


def _conv_block(x, filters: int, kernel: int, name: str, *, strides: int = 1, transpose: bool = False):
    if transpose:
        x = layers.Conv2DTranspose(filters, kernel, strides=strides, padding="same", name=name)(x)
    elif strides == 1:
        x = ReflectionPad2D(kernel // 2, name=f"{name}_pad")(x)
        x = layers.Conv2D(filters, kernel, padding="valid", name=name)(x)
    else:
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", name=name)(x)
    return layers.ReLU(name=f"{name}_act")(normalization("instance", f"{name}_norm")(x))


def resnet_translator(image_shape, out_channels: int | None = None, *, width: int = 64, blocks: int = 9,
                      name: str = "generator", input_name: str = "source") -> keras.Model:
    """See the module docstring; the input is named `input_name`."""
    height, width_px, channels = (int(d) for d in image_shape)
    if height % 4 or width_px % 4:
        raise ValueError(f"the ResNet translator downsamples twice: image size {height}x{width_px} must be "
                         "divisible by 4")
    source = keras.Input((height, width_px, channels), name=input_name)
    x = _conv_block(source, width, 7, "c7s1")
    x = _conv_block(x, width * 2, 3, "d1", strides=2)
    x = _conv_block(x, width * 4, 3, "d2", strides=2)
    for b in range(blocks):
        y = _conv_block(x, width * 4, 3, f"r{b}_a")
        y = ReflectionPad2D(1, name=f"r{b}_b_pad")(y)
        y = normalization("instance", f"r{b}_b_norm")(layers.Conv2D(width * 4, 3, name=f"r{b}_b")(y))
        x = layers.Add(name=f"r{b}_skip")([x, y])
    x = _conv_block(x, width * 2, 3, "u1", strides=2, transpose=True)
    x = _conv_block(x, width, 3, "u2", strides=2, transpose=True)
    x = ReflectionPad2D(3, name="to_image_pad")(x)
    x = layers.Conv2D(out_channels or channels, 7, name="to_image")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(source, image, name=name)
