"""Image restoration GANs on the engine: SRGAN/EPSR (super-resolution) and DeblurGAN (deblurring).

One class, two registry entries (`srgan`, `deblurgan`) that differ in their defaults (`kgan.models.options`):
- G: `kgan.nets.resnet.residual_generator` from the degraded `source` (SRGAN: sub-pixel upsampling by the
  data's scale; DeblurGAN: down/up-sampling around the residual blocks and a global skip, so it learns the
  residual to its blurred input).
- D: the DCGAN-style conv classifier (`kgan.nets.dcgan`) on the high-resolution image alone, as in SRGAN;
  batchnorm for SRGAN, layer norm for DeblurGAN's WGAN-GP critic (`model.norm` overrides).
- Terms: `d_adv` / `g_adv` (the adversarial loss `model.loss`: SRGAN non-saturating, DeblurGAN Wasserstein;
  `g_adv` weighted by `adversarial_weight`, SRGAN's 1e-3), `gp` (WGAN-GP, `train.gradient_penalty`, built by
  `kgan.models.penalties` like the GAN family's), `pixel` (L1 or MSE to the target, `pixel_weight`) and
  `perceptual` (`kgan.perceptual`, `perceptual_weight`; DeblurGAN's content loss with lambda 100).
  L = pixel_weight * L_pixel + perceptual_weight * L_perceptual + adversarial_weight * L_adv: EPSR's
  lambda_2 L_E + lambda_1 L_VGG + lambda_3 L_adv.
- `adversarial_weight = 0` builds no critic (no adversarial terms, no penalty, one optimizer group): with
  `perceptual_weight = 0` it is the `pixel_only` baseline. The usual SRGAN pretraining is a first
  `[[train.phases]]` entry with `terms = {g_adv = 0, d_adv = 0, perceptual = 0}` (plus `gp = 0` with a penalty).
- The perceptual feature network is a frozen network of the model (`perceptual`): checkpointed and saved with
  the run, never trained, not served. Export serves only the generator (`source -> image`).
"""

from __future__ import annotations

import keras
from keras import ops

from kgan import perceptual
from kgan.models import penalties
from kgan.models.terms import Term
from kgan.models.translation import PairedTranslation, engine_options, pixel_error


@keras.saving.register_keras_serializable(package="kgan")
class Restoration(PairedTranslation):
    HPARAMS = PairedTranslation.HPARAMS + ("loss", "pixel_loss", "pixel_weight", "perceptual_weight",
                                           "gradient_penalty")

    def __init__(self, generator: keras.Model, discriminator: keras.Model | None = None, *, perceptual: keras.Model,
                 loss: str = "non_saturating", pixel_loss: str = "mse", pixel_weight: float = 1.0,
                 perceptual_weight: float = 1.0, gradient_penalty: float = 0.0, **kwargs):
        super().__init__(generator, discriminator, others={"perceptual": perceptual}, **kwargs)
        self.loss = loss
        self.pixel_loss = pixel_loss
        self.pixel_weight = float(pixel_weight)
        self.perceptual_weight = float(perceptual_weight)
        self.gradient_penalty = float(gradient_penalty)

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.data import pairs
        from kgan.models.options import RESTORATION_NETS, restoration_options
        from kgan.models.registry import resolve
        from kgan.nets.dcgan import dcgan_discriminator
        from kgan.nets.resnet import residual_generator

        opts = restoration_options(cfg)
        _, loss, norm = resolve(cfg)
        nets = RESTORATION_NETS[cfg.model.name]
        image = (cfg.data.resolution, cfg.data.resolution, cfg.data.channels)
        generator = residual_generator(pairs.source_shape(cfg.data), image, width=cfg.model.width,
                                       blocks=opts["blocks"], norm=opts["generator_norm"],
                                       edge_kernel=nets["edge_kernel"], downsample=nets["downsample"],
                                       global_skip=nets["global_skip"])
        discriminator = (dcgan_discriminator(image, width=cfg.model.width, norm=norm)
                         if opts["adversarial_weight"] > 0 else None)
        features = perceptual.feature_network(opts["perceptual"], image, seed=cfg.seed)
        return cls(generator, discriminator, perceptual=features, loss=loss, pixel_loss=opts["pixel_loss"],
                   pixel_weight=opts["pixel_weight"], perceptual_weight=opts["perceptual_weight"],
                   adversarial_weight=opts["adversarial_weight"], gradient_penalty=cfg.train.gradient_penalty,
                   name=cfg.model.name, **engine_options(cfg))

    def loss_terms(self) -> list[Term]:
        terms = self.adversarial_terms(self.loss)
        if self.gradient_penalty and self.adversarial_weight:
            critic = lambda images: self.critic_pass(self.discriminator, images)  # noqa: E731
            terms.append(Term("gp", "discriminator", weight=self.gradient_penalty,
                              fn=lambda ctx: penalties.gradient_penalty(self, critic, ctx.batch["target"],
                                                                        ctx.out["image"])))
        return terms + [
            Term("pixel", "generator", weight=self.pixel_weight,
                 fn=lambda ctx: ops.mean(pixel_error(self.pixel_loss, ctx.out["image"], ctx.batch["target"]))),
            Term("perceptual", "generator", weight=self.perceptual_weight,
                 fn=lambda ctx: perceptual.perceptual_distance(self.perceptual, ctx.out["image"],
                                                               ctx.batch["target"]))]
