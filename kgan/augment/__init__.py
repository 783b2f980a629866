"""Differentiable augmentation of every critic input, for GANs trained on little data.

`train.augment` names a policy (`kgan.augment.policy`, TensorFlow-free: parsed and checked at config load):
DiffAugment (Zhao et al. 2020: colour, translation, cutout, always on) or ADA (Karras et al. 2020: flips,
90-degree rotations, integer translation, isotropic scaling and colour, each applied with a probability p that
training adapts). The engine (`kgan.models.engine.Engine.critic_pass`) sends every critic input, real and fake,
in the critic and the generator updates, through the model's `kgan.augment.layer` object; the ops
(`kgan.augment.ops`) are differentiable, so the generator learns through them, and draw from the model's seeded
random stream.
"""
