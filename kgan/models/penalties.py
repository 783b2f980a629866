"""Critic regularizers that need the critic's input gradients: WGAN-GP's gradient penalty and R1.

Shared by every family with a critic (the z -> image GANs, the restoration GANs): `critic` is any function
images -> logits (the family decides what else the critic sees), `model` the engine whose seeded random
stream draws the interpolation weights.
"""

from __future__ import annotations

import tensorflow as tf
from keras import ops

from kgan import losses


def input_gradients(critic, images):
    """d critic(images) / d images, for a batch of images."""
    with tf.GradientTape() as tape:
        tape.watch(images)
        logits = critic(images)
    return tape.gradient(logits, images)


def gradient_penalty(model, critic, real, fake):
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad critic(x_hat)|| - 1)^2] at x_hat = eps real + (1 - eps) fake,
    eps ~ U(0, 1) per example (shaped [B, 1, ..., 1] from the images' rank)."""
    eps = model.random_uniform((ops.shape(real)[0],) + (1,) * (len(real.shape) - 1))
    mixed = eps * real + (1.0 - eps) * fake
    return losses.gradient_penalty_from_gradients(input_gradients(critic, mixed))


def r1_penalty(critic, real):
    """R1 (Mescheder et al. 2018): 1/2 E[||grad critic(x)||^2] on real data."""
    return losses.r1_penalty_from_gradients(input_gradients(critic, real))
