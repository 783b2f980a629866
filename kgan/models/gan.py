"""The z -> image family on the engine: GAN, DCGAN, LSGAN, WGAN, WGAN-GP (and, by hooks, CGAN/ACGAN/InfoGAN).

Groups: `discriminator` (the critic, `n_critic` updates per step) and `generator`. Terms:
- `d_adv` / `g_adv`: the adversarial loss (`minimax`, `non_saturating`, `least_squares`, `wasserstein`,
  `hinge`); targets take their shape from the logits, so a patch critic ([B, h, w, 1]) works as is;
  one-sided label smoothing lowers the real target, label noise jitters both;
- `gp` (WGAN-GP, mix weights shaped [B, 1, ..., 1] from the input's rank), `r1` (optionally lazy:
  `r1_every`), `feature_matching` (G matches the mean of D's `features` layer on real data).
Variants override hooks: `sample_conditions` (what G gets besides z: labels, codes), `d_conditions`
(which of them D sees), `extra_terms` (auxiliary classifier, mutual information).
Every discriminator pass goes through the engine's `critic_pass` (the augmentation point of `train.augment`).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import ops

from kgan import losses
from kgan.models import penalties, surface, updates
from kgan.models.engine import Engine, ema_decay  # noqa: F401  (ema_decay: part of the public surface)
from kgan.models.terms import Term


@keras.saving.register_keras_serializable(package="kgan")
class GAN(Engine):
    """Generator + discriminator trained adversarially by the engine's `train_step`."""

    GROUPS = {"discriminator": ("discriminator",), "generator": ("generator",)}
    HPARAMS = Engine.HPARAMS + ("latent_dim", "image_shape", "num_classes", "loss", "gradient_penalty", "r1",
                                "r1_every", "clip_value", "label_smoothing", "label_noise", "feature_matching")

    def __init__(self, generator: keras.Model, discriminator: keras.Model, *, latent_dim: int, image_shape,
                 num_classes: int = 0, loss: str = "non_saturating", n_critic: int = 1,
                 gradient_penalty: float = 0.0, r1: float = 0.0, r1_every: int = 1, clip_value: float = 0.0,
                 label_smoothing: float = 0.0, label_noise: float = 0.0, feature_matching: float = 0.0,
                 ema: float = 0.0, seed: int | None = None, simultaneous: bool = False, **kwargs):
        super().__init__(n_critic=n_critic, ema=ema, ema_networks=("generator",), seed=seed,
                         simultaneous=simultaneous, **kwargs)
        if loss not in losses.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {losses.LOSSES}")
        if (label_smoothing or label_noise) and loss not in losses.TARGET_LOSSES:
            raise ValueError(f"label smoothing/noise need a target-based loss {losses.TARGET_LOSSES}, not {loss!r}")
        self.latent_dim = int(latent_dim)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.num_classes = int(num_classes)
        self.loss = loss
        self.gradient_penalty = float(gradient_penalty)
        self.r1 = float(r1)
        self.r1_every = int(r1_every)
        self.clip_value = float(clip_value)
        self.label_smoothing = float(label_smoothing)
        self.label_noise = float(label_noise)
        self.feature_matching = float(feature_matching)
        self.feature_model = (keras.Model(discriminator.inputs, discriminator.get_layer("features").output,
                                          name="discriminator_features") if self.feature_matching else None)
        self._init_networks({"generator": generator, "discriminator": discriminator})

    # ----- public surface -------------------------------------------------------------------------------
    @property
    def sampler(self) -> keras.Model:
        """The network used for sampling and export: the EMA generator when training kept one."""
        return self.shadow("generator")

    @property
    def d_optimizer(self):
        return self.discriminator_optimizer

    @property
    def g_optimizer(self):
        return self.generator_optimizer

    def compile(self, d_optimizer=None, g_optimizer=None, *, optimizers=None, **kwargs):
        """`compile(d_optimizer, g_optimizer)`, or `optimizers={"discriminator": ..., "generator": ...}`."""
        super().compile(optimizers or {"discriminator": d_optimizer, "generator": g_optimizer}, **kwargs)

    def required_features(self) -> tuple:
        return ("image", "label") if self.num_classes else ("image",)

    def inference_inputs(self) -> list[surface.InputSpec]:
        """z ~ N(0, I) (+ the class label for conditional models)."""
        specs = [surface.InputSpec("z", "normal", (self.latent_dim,))]
        if self.num_classes:
            specs.append(surface.InputSpec("label", "categorical", classes=self.num_classes))
        return specs

    def inference_network(self) -> keras.Model:
        return self.sampler

    def generate(self, z, labels=None, training: bool = False):
        """Images for latent vectors `z` (+ labels / codes as the variant takes them)."""
        return self.infer({"z": z, **self.condition_inputs(z, labels)}, training=training)

    def condition_inputs(self, z, labels) -> dict:
        """The inputs besides z for `generate(z, labels)`."""
        return {"label": labels} if self.num_classes else {}

    def call(self, inputs, training=False):
        z, labels = (inputs if isinstance(inputs, (list, tuple)) else (inputs, None))
        return self.generate(z, labels, training=training)

    def clip_for(self, group: str) -> float:
        return self.clip_value if group == "discriminator" else 0.0

    # Test hook: a float32 [global_batch, latent_dim] array; when set, `sample_latent` returns the
    # calling replica's slice of it (replica r gets rows r*b .. (r+1)*b-1, matching how a global batch is split).
    fixed_latent = None

    # ----- hooks for variants ---------------------------------------------------------------------------
    def sample_latent(self, batch_size):
        if self.fixed_latent is not None:
            start = updates.replica_id() * batch_size
            return tf.slice(tf.constant(self.fixed_latent, "float32"), [start, 0], [batch_size, self.latent_dim])
        return self.random_normal((batch_size, self.latent_dim))

    def sample_conditions(self, batch_size, batch: dict) -> dict:
        """G's inputs besides z for fakes: the real batch's labels keep the class balance of the data."""
        return {"label": batch["label"]} if self.num_classes else {}

    def d_conditions(self) -> tuple:
        """Names of the conditions the discriminator takes as inputs besides the image."""
        return ("label",) if self.num_classes else ()

    def extra_terms(self) -> list[Term]:
        return []

    # ----- the step's pieces ----------------------------------------------------------------------------
    def forward(self, batch: dict, training: bool) -> dict:
        n = ops.shape(batch["image"])[0]
        inputs = {"z": self.sample_latent(n), **self.sample_conditions(n, batch)}
        return {"image": surface.call_network(self.generator, inputs, training=training), **inputs}

    def discriminate(self, images, source: dict, training=True, real: bool = False) -> dict:
        """D's outputs as a dict ({"logits", *heads}); `source` supplies the conditions D takes; `real`: a pass on
        real data (ADA's heuristic reads it)."""
        out = self.critic_pass(self.discriminator, self.critic_inputs(source, images), real=real, training=training)
        return dict(out) if isinstance(out, dict) else {"logits": out}

    def critic_inputs(self, source: dict, images) -> dict:
        """What D is called with for `images`: the image and the conditions it takes from `source`."""
        keys = self.d_conditions()
        return {"image": images, **{k: source[k] for k in keys}}

    def real_critic_scores(self, batch: dict) -> dict:
        return {"d": self.discriminate(batch["image"], batch, training=False)["logits"]}

    def loss_log(self, group: str) -> str:
        return {"discriminator": "d_loss", "generator": "g_loss"}[group]

    def loss_terms(self) -> list[Term]:
        terms = [Term("d_adv", "discriminator", self._d_adversarial, logged=False,
                      diagnostics=losses.output_log_names(self.loss)),
                 Term("g_adv", "generator", self._g_adversarial, logged=False)]
        if self.gradient_penalty:
            terms.append(Term("gp", "discriminator", self._gradient_penalty, weight=self.gradient_penalty))
        if self.r1:
            terms.append(Term("r1", "discriminator", self._r1, weight=self.r1, every=self.r1_every))
        if self.feature_matching:
            terms.append(Term("feature_matching", "generator", self._feature_matching, weight=self.feature_matching))
        return terms + self.extra_terms()

    def d_real(self, ctx) -> dict:
        return ctx.memo("d_real", lambda: self.discriminate(ctx.batch["image"], ctx.batch, real=True))

    def d_fake(self, ctx) -> dict:
        return ctx.memo("d_fake", lambda: self.discriminate(ctx.out["image"], ctx.out))

    def _d_adversarial(self, ctx):
        real, fake = self.d_real(ctx)["logits"], self.d_fake(ctx)["logits"]
        real_t, fake_t = self._targets(real, fake)
        return losses.discriminator_loss(self.loss, real, fake, real_t, fake_t), losses.output_logs(self.loss, real, fake)

    def _g_adversarial(self, ctx):
        return losses.generator_loss(self.loss, self.d_fake(ctx)["logits"])

    def _targets(self, real_logits, fake_logits):
        """(real, fake) targets shaped like the logits: one-sided smoothing lowers only the real target; noise
        jitters both."""
        real_t = ops.full(ops.shape(real_logits), 1.0 - self.label_smoothing)
        fake_t = ops.zeros(ops.shape(fake_logits))
        if self.label_noise:
            real_t -= self.random_uniform(ops.shape(real_logits), 0.0, self.label_noise)
            fake_t += self.random_uniform(ops.shape(fake_logits), 0.0, self.label_noise)
        return real_t, fake_t

    def _critic(self, source):
        """images -> D's logits, with the conditions D takes from `source`."""
        return lambda images: self.discriminate(images, source, training=True)["logits"]

    def _gradient_penalty(self, ctx):
        return penalties.gradient_penalty(self, self._critic(ctx.batch), ctx.batch["image"], ctx.out["image"])

    def _r1(self, ctx):
        return penalties.r1_penalty(self._critic(ctx.batch), ctx.batch["image"])

    def _feature_matching(self, ctx):
        def features(images, source):
            return self.critic_pass(self.feature_model, self.critic_inputs(source, images))

        return losses.feature_matching_loss(features(ctx.batch["image"], ctx.batch),
                                            features(ctx.out["image"], ctx.out))
