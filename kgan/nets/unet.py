"""The pix2pix U-Net generator (Isola et al. 2017, appendix 6.1.1), for any resolution the plan allows.

Encoder: 4x4 stride-2 convolutions with batchnorm (none on the first) and LeakyReLU(0.2), halving down to
4..7 pixels; decoder: 4x4 stride-2 transposed convolutions with batchnorm and ReLU, each followed by a
skip connection (concatenation with the encoder block of the same size); dropout 0.5 in the first
decoder blocks (up to three) is the only noise source, and the paper keeps it on at test time
(`dropout_at_inference`). The dropout layers are seeded from `seed` (saved in their config): a model
loaded in a fresh process draws the same noise sequence, so galleries and evaluations of a run or an
export repeat exactly. Output: tanh with the target's channels, float32.
"""

from __future__ import annotations

import keras
from keras import layers

from kgan.layers import InferenceDropout
from kgan.nets.plan import upsampling_plan


def unet_generator(source_shape, image_shape, width: int = 64, dropout: float = 0.5,
                   dropout_at_inference: bool = True, dropout_blocks: int = 3, seed: int = 0) -> keras.Model:
    """source [B, h, w, C_in] -> image [B, H, W, C] (a smaller source is resized up first); the input is
    named `source`."""
    height, width_px, channels = (int(d) for d in image_shape)
    _, depth = upsampling_plan(height)
    source = keras.Input(tuple(source_shape), name="source")
    x, skips = source, []
    if tuple(source_shape[:2]) != (height, width_px):
        x = layers.Resizing(height, width_px, interpolation="bilinear", name="source_up")(x)
    for i in range(depth):
        x = layers.Conv2D(width * min(2 ** i, 8), 4, strides=2, padding="same", use_bias=i == 0, name=f"down_{i}")(x)
        if i:
            x = layers.BatchNormalization(name=f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_act")(x)
        skips.append(x)
    for i, skip in enumerate(reversed(skips[:-1])):
        x = layers.Conv2DTranspose(int(skip.shape[-1]), 4, strides=2, padding="same", use_bias=False,
                                   name=f"up_{i}")(x)
        x = layers.BatchNormalization(name=f"up_{i}_norm")(x)
        if dropout and i < dropout_blocks:
            x = InferenceDropout(dropout, at_inference=dropout_at_inference, seed=seed + i,
                                 name=f"up_{i}_dropout")(x)
        x = layers.ReLU(name=f"up_{i}_act")(x)
        x = layers.Concatenate(name=f"skip_{i}")([x, skip])
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name="to_image")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(source, image, name="generator")
