"""ProGAN (Karras et al. 2018): progressive growing, pixel norm in G, equalized learning rate everywhere, minibatch
stddev in D, WGAN-GP with a drift term (epsilon E[D(x)^2], 0.001), a generator EMA.

The growing (resolution, fade, alpha from the step counter, faded real images, the served network at the target
resolution) is `kgan.models.growing.Growing`; the networks are `kgan.nets.progressive`; the schedule is the run's
`train.phases` (`kgan.models.growth`). Everything else is the GAN family's step.
"""

from __future__ import annotations

import keras
from keras import ops

from kgan.models.gan import GAN
from kgan.models.growing import Growing
from kgan.models.terms import Term


@keras.saving.register_keras_serializable(package="kgan")
class ProGAN(Growing, GAN):
    HPARAMS = GAN.HPARAMS + ("drift",)

    def __init__(self, generator, discriminator, *, drift: float = 1e-3, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.drift = float(drift)

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.models.options import progan_options
        from kgan.models.registry import resolve
        from kgan.nets.progressive import ProganDiscriminator, ProganGenerator

        opts = progan_options(cfg)
        _, loss, _ = resolve(cfg)
        r, c, t = cfg.data.resolution, cfg.data.channels, cfg.train
        widths = {"width": cfg.model.width, "max_width": opts["max_width"]}
        generator = ProganGenerator(cfg.model.latent_dim, r, channels=c, name="generator", **widths)
        discriminator = ProganDiscriminator(r, channels=c, stddev_group=opts["stddev_group"], name="discriminator",
                                            **widths)
        return cls(generator, discriminator, latent_dim=cfg.model.latent_dim, image_shape=(r, r, c), loss=loss,
                   n_critic=t.n_critic, gradient_penalty=t.gradient_penalty, ema=t.ema, seed=cfg.seed,
                   simultaneous=t.update == "simultaneous", drift=opts["drift"], name=cfg.model.name)

    def extra_terms(self) -> list[Term]:
        """The drift term keeps the critic's output near 0 (it would otherwise wander: the Wasserstein loss only
        sees differences)."""
        return [Term("drift", "discriminator", lambda ctx: ops.mean(ops.square(self.d_real(ctx)["logits"])),
                     weight=self.drift)] if self.drift else []

    def inference_network(self) -> keras.Model:
        return self.served(self.sampler)
