"""A toy image-to-image model on kgan's public surface: `source` -> image, L1 + a PatchGAN-style critic.

The critic sees concat(source, image) and answers per patch (logits [B, h, w, 1]). Used by the tests
as `model.name = "tests.toy_models.translator:Translator"` with `data.transform = "mask"`; it is not
in kgan's model registry.
"""

import keras
from keras import layers, ops

from kgan import losses
from kgan.models.engine import Engine
from kgan.models.surface import InputSpec
from kgan.models.terms import Term


@keras.saving.register_keras_serializable(package="kgan_tests")
class Translator(Engine):
    GROUPS = {"discriminator": ("discriminator",), "generator": ("generator",)}
    HPARAMS = Engine.HPARAMS + ("l1",)
    target_feature = "target"

    def __init__(self, generator, discriminator, *, l1: float = 10.0, **kwargs):
        super().__init__(ema_networks=("generator",), **kwargs)
        self.l1 = float(l1)
        self._init_networks({"generator": generator, "discriminator": discriminator})

    @classmethod
    def from_experiment(cls, cfg):
        r, c, w = cfg.data.resolution, cfg.data.channels, cfg.model.width
        source = keras.Input((r, r, c + 1), name="source")  # the masked image and the mask channel
        x = layers.Conv2D(w, 3, padding="same", activation="relu")(source)
        x = layers.Conv2D(w, 3, padding="same", activation="relu")(x)
        generator = keras.Model(source, layers.Conv2D(c, 3, padding="same", activation="tanh")(x), name="generator")
        pair = keras.Input((r, r, 2 * c + 1), name="pair")
        y = layers.LeakyReLU(0.2)(layers.Conv2D(w, 4, strides=2, padding="same")(pair))
        patches = layers.Conv2D(1, 3, padding="same")(y)  # one logit per patch: [B, r/2, r/2, 1]
        discriminator = keras.Model(pair, patches, name="discriminator")
        return cls(generator, discriminator, l1=cfg.model.options.get("l1", 10.0), n_critic=cfg.train.n_critic,
                   ema=cfg.train.ema, seed=cfg.seed, name="translator")

    def required_features(self):
        return ("source", "target")

    def inference_inputs(self):
        return [InputSpec("source", "image", self.generator.inputs[0].shape[1:], feature="source")]

    def inference_network(self):
        return self.shadow("generator")

    def forward(self, batch, training):
        return {"image": self.generator(batch["source"], training=training)}

    def critic(self, ctx, key, images):
        pair = ops.concatenate([ctx.batch["source"], images], axis=-1)
        return ctx.memo(key, lambda: self.discriminator(pair, training=True))

    def loss_terms(self):
        def real(ctx):
            return self.critic(ctx, "real", ctx.batch["target"])

        def fake(ctx):
            return self.critic(ctx, "fake", ctx.out["image"])

        return [Term("d_adv", "discriminator", lambda ctx: losses.discriminator_loss("non_saturating", real(ctx),
                                                                                   fake(ctx))),
                Term("g_adv", "generator", lambda ctx: losses.generator_loss("non_saturating", fake(ctx))),
                Term("l1", "generator", lambda ctx: ops.mean(ops.abs(ctx.out["image"] - ctx.batch["target"])),
                     weight=self.l1)]
