"""A toy adversarial autoencoder on kgan's public surface: encoder/decoder with a critic on latent codes.

Three networks in two optimizer groups: the critic judges codes [B, d] (prior samples N(0, I) are real,
encoded images fake), the autoencoder group learns reconstruction plus fooling the critic. It serves
the decoder (z -> image). Used by the tests as `tests.toy_models.latent_ae:LatentAE`; not in kgan's
model registry.
"""

import keras
from keras import layers, ops

from kgan import losses
from kgan.models.engine import Engine
from kgan.models.surface import InputSpec
from kgan.models.terms import Term


@keras.saving.register_keras_serializable(package="kgan_tests")
class LatentAE(Engine):
    GROUPS = {"critic": ("latent_critic",), "autoencoder": ("encoder", "decoder")}

    def __init__(self, encoder, decoder, latent_critic, **kwargs):
        super().__init__(ema_networks=("decoder",), **kwargs)
        self._init_networks({"encoder": encoder, "decoder": decoder, "latent_critic": latent_critic})

    @classmethod
    def from_experiment(cls, cfg):
        r, c, d, w = cfg.data.resolution, cfg.data.channels, cfg.model.latent_dim, cfg.model.width
        image = keras.Input((r, r, c), name="image")
        code = layers.Dense(d)(layers.Dense(w, activation="relu")(layers.Flatten()(image)))
        z = keras.Input((d,), name="z")
        out = layers.Reshape((r, r, c))(layers.Dense(r * r * c, activation="tanh")(layers.Dense(w, activation="relu")(z)))
        codes = keras.Input((d,), name="code")
        logits = layers.Dense(1)(layers.Dense(w, activation="relu")(codes))  # [B, 1] on codes [B, d]
        return cls(keras.Model(image, code, name="encoder"), keras.Model(z, out, name="decoder"),
                   keras.Model(codes, logits, name="latent_critic"), n_critic=cfg.train.n_critic,
                   ema=cfg.train.ema, seed=cfg.seed, name="latent_ae")

    def inference_inputs(self):
        return [InputSpec("z", "normal", self.decoder.inputs[0].shape[1:])]

    def inference_network(self):
        return self.shadow("decoder")

    def forward(self, batch, training):
        code = self.encoder(batch["image"], training=training)
        return {"code": code, "image": self.decoder(code, training=training)}

    def loss_terms(self):
        def prior(ctx):
            return ctx.memo("prior", lambda: self.random_normal(ops.shape(ctx.out["code"])))

        def judge(ctx, key, codes):
            return ctx.memo(key, lambda: self.latent_critic(codes, training=True))

        return [Term("d_adv", "critic", lambda ctx: losses.discriminator_loss(
                    "non_saturating", judge(ctx, "real", prior(ctx)), judge(ctx, "fake", ctx.out["code"]))),
                Term("g_adv", "autoencoder", lambda ctx: losses.generator_loss(
                    "non_saturating", judge(ctx, "fake", ctx.out["code"]))),
                Term("reconstruction", "autoencoder",
                     lambda ctx: ops.mean(ops.square(ctx.out["image"] - ctx.batch["image"])), weight=10.0)]
