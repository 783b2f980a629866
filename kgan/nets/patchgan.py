"""The PatchGAN discriminator (Isola et al. 2017): it classifies each N x N patch of concat(source, image), or
of the image alone (`source_shape=None`: CycleGAN's unconditional critics, which see one domain's images).

`depth` stride-2 4x4 convolutions (64, 128, 256, ... filters; `norm` after the first: batch in pix2pix, instance
in CycleGAN; LeakyReLU 0.2),
then a stride-1 4x4 convolution and a 4x4 convolution to one logit per patch: logits [B, h, w, 1]. The
receptive field (the patch size) grows with depth: 16, 34, 70 (the paper's 70x70 at 256 px), 142.
`default_depth` picks the deepest whose patch is at most half the image, so patches stay a fraction of
small images (16 px patches on 28 / 32 px digits).
"""

from __future__ import annotations

import keras
from keras import layers

from kgan.nets.common import normalization


def receptive_field(depth: int) -> int:
    """Patch size of a PatchGAN of `depth` stride-2 layers plus its two stride-1 layers (all 4x4)."""
    field = 1
    for stride in reversed([2] * depth + [1, 1]):
        field = field * stride + (4 - stride)
    return field


def default_depth(resolution: int) -> int:
    depth = 1
    while depth < 4 and receptive_field(depth + 1) <= resolution // 2:
        depth += 1
    return depth


def patchgan_discriminator(source_shape, image_shape, width: int = 64, depth: int | None = None, *,
                           norm: str = "batch", name: str = "discriminator") -> keras.Model:
    """(source, image) -> logits [B, h, w, 1], inputs named `source` and `image`; with `source_shape=None`
    image -> logits (one input, `image`)."""
    depth = depth or default_depth(int(image_shape[0]))
    image = keras.Input(tuple(image_shape), name="image")
    if source_shape is None:
        inputs, x = image, image
    else:
        source = keras.Input(tuple(source_shape), name="source")
        if source_shape[:2] != image_shape[:2]:  # a low-resolution source (super-resolution) is upsampled first
            source_up = layers.Resizing(image_shape[0], image_shape[1], interpolation="nearest",
                                        name="source_up")(source)
        else:
            source_up = source
        inputs, x = [source, image], layers.Concatenate(name="pair")([source_up, image])
    for i in range(depth):
        x = layers.Conv2D(width * min(2 ** i, 8), 4, strides=2, padding="same", name=f"down_{i}")(x)
        if i:
            x = normalization(norm, f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"down_{i}_act")(x)
    x = layers.Conv2D(width * min(2 ** depth, 8), 4, padding="same", name="features_conv")(x)
    x = normalization(norm, "features_norm")(x)
    x = layers.LeakyReLU(0.2, name="features")(x)
    logits = layers.Conv2D(1, 4, padding="same", dtype="float32", name="patch_logits")(x)
    return keras.Model(inputs, logits, name=name)
