"""The autoencoder families' networks, built from the GAN builders so every family shares them.

- encoder: the DCGAN (or MLP) discriminator's body up to its `features` layer, then a Dense `code` head [B, d];
  layer normalization by default in both DCGAN bodies: batchnorm's moving statistics start at variance 1 and decay
  by 0.99 per step, so a model served after a few hundred steps encodes and decodes with statistics far from
  the ones it was trained with (on MNIST after 150 steps: codes with std 0.2 instead of 1);
  a Gaussian encoder adds a `code_log_var` head and outputs [mean, log-variance] concatenated, [B, 2d];
- decoder: the DCGAN (or MLP) generator with its input named `code`;
- latent_critic: an MLP on codes (the WAE paper's MNIST adversary: 4 x 512 ReLU), with the class label embedded
  beside the code for a label-conditioned prior;
- `MixturePrior`: the supervised AAE's prior, one Gaussian per class (Makhzani et al. 2016, section 2.3).
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from kgan.nets.common import latent_inputs, logits_head
from kgan.nets.dcgan import dcgan_discriminator, dcgan_generator
from kgan.nets.mlp import mlp_discriminator, mlp_generator

_BODIES = {"dcgan": (dcgan_discriminator, dcgan_generator), "mlp": (mlp_discriminator, mlp_generator)}


def encoder(image_shape, latent_dim: int, width: int, nets: str = "dcgan", gaussian: bool = False,
            norm: str = "layer") -> keras.Model:
    """image -> code [B, d] (deterministic) or [B, 2d] = [mean, log-variance] (Gaussian); `norm`: the DCGAN
    body's normalization."""
    body = _BODIES[nets][0](image_shape, width=width, **({"norm": norm} if nets == "dcgan" else {}))
    features = body.get_layer("features").output
    code = layers.Dense(latent_dim, dtype="float32", name="code")(features)
    if gaussian:
        log_var = layers.Dense(latent_dim, dtype="float32", name="code_log_var")(features)
        code = layers.Concatenate(name="code_and_log_var")([code, log_var])
    return keras.Model(body.input, code, name="encoder")


def decoder(latent_dim: int, image_shape, width: int, nets: str = "dcgan", norm: str = "layer") -> keras.Model:
    """code [B, d] -> image in [-1, 1]; `norm`: the DCGAN body's normalization."""
    net = _BODIES[nets][1](latent_dim, image_shape, width=width, input_name="code",
                           **({"norm": norm} if nets == "dcgan" else {}))
    return keras.Model(net.input, net.output, name="decoder")


def latent_critic(latent_dim: int, units: int = 512, depth: int = 4, num_classes: int = 0) -> keras.Model:
    """code [B, d] (+ label) -> logit [B, 1]."""
    inputs, x = latent_inputs(latent_dim, num_classes, "code")
    for i in range(depth):
        x = layers.Dense(units, activation="relu", name=f"dense_{i}" if i < depth - 1 else "features")(x)
    return keras.Model(inputs, logits_head(x), name="latent_critic")


@keras.saving.register_keras_serializable(package="kgan")
class MixturePrior(layers.Layer):
    """(z ~ N(0, I), label) -> mean_label + std * z: class k's Gaussian sits at radius `radius` on a circle in the
    code's first two dimensions, at angle 2 pi k / K."""

    def __init__(self, num_classes: int, latent_dim: int, radius: float = 4.0, std: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        self.num_classes, self.latent_dim = int(num_classes), int(latent_dim)
        self.radius, self.std = float(radius), float(std)

    def means(self):
        angles = [2 * math.pi * k / self.num_classes for k in range(self.num_classes)]
        rows = [[self.radius * math.cos(a), self.radius * math.sin(a)] + [0.0] * (self.latent_dim - 2)
                for a in angles]
        return ops.convert_to_tensor(rows, "float32")

    def call(self, z, label):
        return ops.take(self.means(), ops.cast(label, "int32"), axis=0) + self.std * z

    def compute_output_shape(self, z_shape, label_shape=None):
        return z_shape

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "latent_dim": self.latent_dim,
                "radius": self.radius, "std": self.std}
