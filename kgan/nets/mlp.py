"""The fully connected GAN of the seeds (Goodfellow et al. 2014, as in the lecture's PyTorch code)."""

from __future__ import annotations

import math

import keras
from keras import layers

from kgan.nets.common import image_inputs, latent_inputs, logits_head


def mlp_generator(latent_dim: int, image_shape, num_classes: int = 0, width: int = 128, input_name: str = "z") -> keras.Model:
    """latent -> 128 -> 256 -> 512 -> 1024 -> prod(image_shape), ReLU hidden, tanh output."""
    inputs, x = latent_inputs(latent_dim, num_classes, input_name)
    for i in range(4):
        x = layers.Dense(width * 2**i, activation="relu", name=f"dense_{i}")(x)
    x = layers.Dense(math.prod(image_shape), activation="tanh", dtype="float32", name="pixels")(x)
    image = layers.Reshape(tuple(image_shape), name="image")(x)
    return keras.Model(inputs, image, name="generator")


def mlp_discriminator(image_shape, num_classes: int = 0, width: int = 128) -> keras.Model:
    """prod(image_shape) -> 512 -> 256 -> 128 -> 1 logit (the sigmoid lives in the loss)."""
    inputs, x = image_inputs(image_shape, num_classes)
    x = layers.Flatten()(x)
    for i, units in enumerate((width * 4, width * 2)):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}")(x)
    x = layers.Dense(width, activation="relu", name="features")(x)
    return keras.Model(inputs, logits_head(x), name="discriminator")
