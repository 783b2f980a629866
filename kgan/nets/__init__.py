"""Architecture builders: plain functions returning functional `keras.Model`s.

Conventions every builder follows, so the engine can use any of them:
- generators take `z` (and `label` when `num_classes > 0`) and end in `tanh` (float32, [-1, 1]);
- discriminators take the image (and `label`) and return raw logits `[B, 1]`; the layer feeding the
  last Dense is named `features` (used by feature matching and nearest-neighbour views);
- final layers are float32 even under a mixed-precision policy.
"""

from kgan.nets.dcgan import dcgan_discriminator, dcgan_generator
from kgan.nets.mlp import mlp_discriminator, mlp_generator

__all__ = ["dcgan_discriminator", "dcgan_generator", "mlp_discriminator", "mlp_generator"]
