"""The paired-translation base: models that map a `source` image to an image matching `target`.

pix2pix, SRGAN and DeblurGAN share their served surface (`source -> image`, target feature `target`, the
source as the identity reference point), their forward pass (the generator on the source), their groups
(`discriminator`, then `generator`; only `generator` when `adversarial_weight` is 0: the pixel-only
baselines build no critic at all), the memo of the critic's passes on real and fake images, the
adversarial term pair and the pixel error. They differ in what the critic sees (`critic_inputs`) and in
their other terms.
"""

from __future__ import annotations

import keras
from keras import ops

from kgan import losses
from kgan.augment import policy as augment_policy
from kgan.models import surface
from kgan.models.engine import Engine
from kgan.models.terms import Term

class PairedTranslation(Engine):
    HPARAMS = Engine.HPARAMS + ("adversarial_weight",)
    target_feature = "target"
    identity_feature = "source"

    def __init__(self, generator: keras.Model, discriminator: keras.Model | None = None, *,
                 adversarial_weight: float = 1.0, others: dict | None = None, **kwargs):
        """`others`: networks besides the generator and its critic (a perceptual loss's feature network)."""
        super().__init__(ema_networks=("generator",), **kwargs)
        self.adversarial_weight = float(adversarial_weight)
        if (discriminator is None) != (self.adversarial_weight == 0):
            raise ValueError(f"{self.name} has a discriminator exactly when adversarial_weight > 0")
        critic = {"discriminator": discriminator} if discriminator is not None else {}
        self._init_networks({"generator": generator, **critic, **(others or {})})

    @property
    def GROUPS(self) -> dict:  # noqa: N802 (the engine's declaration, per instance: without a critic, one group)
        if self.adversarial_weight == 0:
            return {"generator": ("generator",)}
        return {"discriminator": ("discriminator",), "generator": ("generator",)}

    # ----- surface
    def required_features(self) -> tuple:
        return ("source", "target")

    def inference_inputs(self) -> list[surface.InputSpec]:
        return [surface.InputSpec("source", "image", self.generator.inputs[0].shape[1:], feature="source")]

    def inference_network(self) -> keras.Model:
        return self.shadow("generator")

    # ----- step
    def forward(self, batch: dict, training: bool) -> dict:
        return {"image": self.generator(batch["source"], training=training)}

    def loss_log(self, group: str) -> str:
        return {"discriminator": "d_loss", "generator": "g_loss"}[group]

    def critic_inputs(self, batch: dict, images):
        """What the discriminator is called with for `images` (pix2pix: the pair with the source)."""
        return images

    def critic_logits(self, ctx, key: str, images):
        """The discriminator's logits for `images`, computed once per update (`key`: real | fake)."""
        return ctx.memo(key, lambda: self.critic_pass(self.discriminator, self.critic_inputs(ctx.batch, images),
                                                      real=key == "real"))

    def real_critic_scores(self, batch: dict) -> dict:
        if self.adversarial_weight == 0:
            return {}
        return {"d": self.critic_pass(self.discriminator, self.critic_inputs(batch, batch["target"]), training=False)}

    def real_logits(self, ctx):
        return self.critic_logits(ctx, "real", ctx.batch["target"])

    def fake_logits(self, ctx):
        return self.critic_logits(ctx, "fake", ctx.out["image"])

    def adversarial_terms(self, loss: str, d_scale: float = 1.0) -> list[Term]:
        """`d_adv` (the critic's loss, scaled by `d_scale`) and `g_adv` (weighted by `adversarial_weight`); none
        without a critic (adversarial_weight 0: the pixel-only baselines)."""
        if self.adversarial_weight == 0:
            return []

        def d_adv(ctx):
            r, f = self.real_logits(ctx), self.fake_logits(ctx)
            return d_scale * losses.discriminator_loss(loss, r, f), losses.output_logs(loss, r, f)

        return [Term("d_adv", "discriminator", d_adv, logged=False, diagnostics=losses.output_log_names(loss)),
                Term("g_adv", "generator", lambda ctx: losses.generator_loss(loss, self.fake_logits(ctx)),
                     weight=self.adversarial_weight, logged=False)]


def engine_options(cfg) -> dict:
    """The engine's constructor arguments from an experiment's train section (and its seed)."""
    return {"n_critic": cfg.train.n_critic, "ema": cfg.train.ema, "seed": cfg.seed,
            "simultaneous": cfg.train.update == "simultaneous", **augment_policy.engine_options(cfg.train)}


def pixel_error(kind: str, output, target):
    """Per-pixel error of `output` against `target`: |y - G(x)| (l1) or (y - G(x))^2 (mse)."""
    difference = output - target
    return ops.abs(difference) if kind == "l1" else ops.square(difference)
