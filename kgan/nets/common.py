"""Pieces shared by the architecture builders: inputs, label conditioning, normalization."""

from __future__ import annotations

import keras
from keras import layers


def latent_inputs(latent_dim: int, num_classes: int, name: str = "z"):
    """Inputs of a generator: `z` (or another `name`: an autoencoder's decoder takes a `code`) and, for
    conditional models, an int32 `label`."""
    z = keras.Input((latent_dim,), name=name)
    if num_classes <= 0:
        return z, z
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, latent_dim, name="label_embedding")(label)
    return [z, label], layers.Concatenate(name="z_and_label")([z, embedded])


def image_inputs(image_shape, num_classes: int):
    """Inputs of a discriminator: the image and, for conditional models, a label map channel."""
    image = keras.Input(tuple(image_shape), name="image")
    if num_classes <= 0:
        return image, image
    h, w, _ = image_shape
    label = keras.Input((), dtype="int32", name="label")
    embedded = layers.Embedding(num_classes, h * w, name="label_embedding")(label)
    label_map = layers.Reshape((h, w, 1), name="label_map")(embedded)
    return [image, label], layers.Concatenate(name="image_and_label")([image, label_map])


def normalization(kind: str, name: str):
    """A normalization layer: batch (DCGAN), layer (WGAN-GP's critic: no batch coupling), instance (DeblurGAN's
    generator: per image and channel) or none."""
    if kind == "batch":
        return layers.BatchNormalization(name=name)
    if kind == "layer":
        return layers.LayerNormalization(name=name)
    if kind == "instance":
        return layers.GroupNormalization(groups=-1, name=name)
    if kind == "none":
        return layers.Identity(name=name)
    raise ValueError(f"unknown normalization {kind!r}")


def logits_head(features, name: str = "logits"):
    """The last Dense of a discriminator, kept in float32 under mixed precision."""
    return layers.Dense(1, dtype="float32", name=name)(features)
