"""Architecture builders: plain functions returning functional `keras.Model`s.

Conventions every builder follows, so the engine can use any of them:
- generators take `z` (and `label` when `num_classes > 0`) and end in `tanh` (float32, [-1, 1]);
- discriminators take the image (and `label`) and return raw logits `[B, 1]`; the layer feeding the
  last Dense is named `features` (used by feature matching and nearest-neighbour views);
- final layers are float32 even under a mixed-precision policy.

Attributes load lazily, so that the TensorFlow-free `kgan.nets.plan` serves config validation.
"""

from kgan import lazy

_EXPORTS = {"dcgan_discriminator": "kgan.nets.dcgan", "dcgan_generator": "kgan.nets.dcgan",
            "mlp_discriminator": "kgan.nets.mlp", "mlp_generator": "kgan.nets.mlp"}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy.exports('kgan.nets', _EXPORTS)
