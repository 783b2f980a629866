"""DCGAN (Radford et al. 2016) following the paper's guidelines.

Strided convolutions in D and fractionally-strided (transposed) convolutions in G instead of pooling;
batchnorm in G (not on its output) and in D (not on its input layer); ReLU in G with a tanh output;
LeakyReLU(0.2) in D; no fully connected hidden layers beyond the projection of z. Resolution is
any size that halves down to 4..7 (28 -> 7, 32 -> 4, 64 -> 4).
"""

from __future__ import annotations

import keras
from keras import layers

from kgan.nets.common import image_inputs, latent_inputs, logits_head, normalization
from kgan.nets.plan import upsampling_plan


def dcgan_generator(latent_dim: int, image_shape, num_classes: int = 0, width: int = 64, input_name: str = "z",
                    norm: str = "batch") -> keras.Model:
    height, _, channels = image_shape
    start, n_up = upsampling_plan(height)
    filters = width * 2 ** (n_up - 1)
    inputs, x = latent_inputs(latent_dim, num_classes, input_name)
    x = layers.Dense(start * start * filters * 2, use_bias=False, name="project")(x)
    x = normalization(norm, name="project_bn")(x)
    x = layers.ReLU()(x)
    x = layers.Reshape((start, start, filters * 2))(x)
    for i in range(n_up - 1):
        x = layers.Conv2DTranspose(filters, 4, strides=2, padding="same", use_bias=False, name=f"up_{i}")(x)
        x = normalization(norm, name=f"up_{i}_bn")(x)
        x = layers.ReLU()(x)
        filters //= 2
    x = layers.Conv2DTranspose(channels, 4, strides=2, padding="same", name=f"up_{n_up - 1}")(x)
    image = layers.Activation("tanh", dtype="float32", name="image")(x)
    return keras.Model(inputs, image, name="generator")


def dcgan_discriminator(image_shape, num_classes: int = 0, width: int = 64, norm: str = "batch") -> keras.Model:
    _, n_down = upsampling_plan(image_shape[0])
    inputs, x = image_inputs(image_shape, num_classes)
    filters = width
    for i in range(n_down):
        x = layers.Conv2D(filters, 4, strides=2, padding="same", name=f"down_{i}")(x)
        if i > 0:
            x = normalization(norm, name=f"down_{i}_norm")(x)
        x = layers.LeakyReLU(0.2)(x)
        filters *= 2
    features = layers.Flatten(name="features")(x)
    return keras.Model(inputs, logits_head(features), name="discriminator")
