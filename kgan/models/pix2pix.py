"""pix2pix (Isola et al. 2017): paired image-to-image translation on the engine.

G* = arg min_G max_D L_cGAN(G, D) + lambda L_L1(G), lambda = 100 (seed 000, "From Pix2Pix to a CGAN").
- G: U-Net (`kgan.nets.unet`) from the `source` feature; dropout is its noise (no z), kept on at inference.
- D: PatchGAN (`kgan.nets.patchgan`) on (source, image) pairs, one logit per patch [B, h, w, 1].
- Terms: `d_adv` = 0.5 * (BCE(D(x, y), 1) + BCE(D(x, G(x)), 0)) (the paper halves D's objective to slow D
  relative to G); `g_adv` = non-saturating BCE; `l1` = lambda * mean |y - G(x)|. For inpainting data
  (`data.transform = "mask..."`) the L1 inside the hole is logged too (`l1_hole`, unweighted), since the
  whole-image L1 is dominated by the pixels the model was given.
- `model.options.adversarial_weight` weights `g_adv` (1 by default); 0 makes the "L1 only" baseline the paper
  compares with: no discriminator at all (not built, checkpointed or logged), one optimizer group, and the
  loss is exactly lambda * L1.
Served as `source -> image` (the image input of the declared surface; its target feature is `target`).
"""

from __future__ import annotations

import keras
from keras import ops

from kgan import losses
from kgan.layers import InferenceDropout
from kgan.models import surface
from kgan.models.engine import Engine
from kgan.models.terms import Term


@keras.saving.register_keras_serializable(package="kgan")
class Pix2Pix(Engine):
    HPARAMS = Engine.HPARAMS + ("l1", "inpainting", "adversarial_weight")
    target_feature = "target"
    identity_feature = "source"

    def __init__(self, generator: keras.Model, discriminator: keras.Model | None = None, *, l1: float = 100.0,
                 inpainting: bool = False, adversarial_weight: float = 1.0, **kwargs):
        super().__init__(ema_networks=("generator",), **kwargs)
        self.l1 = float(l1)
        self.adversarial_weight = float(adversarial_weight)
        self.inpainting = bool(inpainting)
        if (discriminator is None) != (self.adversarial_weight == 0):
            raise ValueError("pix2pix has a discriminator exactly when adversarial_weight > 0")
        networks = {"generator": generator}
        if discriminator is not None:
            networks["discriminator"] = discriminator
        self._init_networks(networks)

    @property
    def GROUPS(self) -> dict:  # noqa: N802 (the engine's declaration, per instance: L1 only has no critic)
        if self.adversarial_weight == 0:
            return {"generator": ("generator",)}
        return {"discriminator": ("discriminator",), "generator": ("generator",)}

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.data import pairs
        from kgan.models.options import pix2pix_options
        from kgan.nets.patchgan import patchgan_discriminator
        from kgan.nets.unet import unet_generator

        opts = pix2pix_options(cfg)
        source = pairs.source_shape(cfg.data)
        image = (cfg.data.resolution, cfg.data.resolution, cfg.data.channels)
        generator = unet_generator(source, image, width=cfg.model.width, dropout=opts["dropout"],
                                   dropout_at_inference=opts["dropout_at_inference"], seed=cfg.seed)
        discriminator = (patchgan_discriminator(source, image, width=cfg.model.width, depth=opts["patch_depth"])
                         if opts["adversarial_weight"] > 0 else None)
        return cls(generator, discriminator, l1=opts["l1"], adversarial_weight=opts["adversarial_weight"],
                   inpainting=cfg.data.transform.startswith("mask"),
                   n_critic=cfg.train.n_critic, ema=cfg.train.ema, seed=cfg.seed,
                   simultaneous=cfg.train.update == "simultaneous", name="pix2pix")

    # ----- surface
    def required_features(self) -> tuple:
        return ("source", "target") + (("mask",) if self.inpainting else ())

    def inference_inputs(self) -> list[surface.InputSpec]:
        return [surface.InputSpec("source", "image", self.generator.inputs[0].shape[1:], feature="source")]

    def inference_network(self) -> keras.Model:
        return self.shadow("generator")

    @property
    def inference_noise(self) -> str:
        """The paper's noise: dropout kept on at inference (none with `dropout = 0` or
        `dropout_at_inference = false`)."""
        kept = any(isinstance(layer, InferenceDropout) and layer.at_inference and layer.rate > 0
                   for layer in self.inference_network().layers)
        return "dropout kept on at inference" if kept else ""

    # ----- step
    def forward(self, batch: dict, training: bool) -> dict:
        return {"image": self.generator(batch["source"], training=training)}

    def patch_logits(self, ctx, key: str, images):
        return ctx.memo(key, lambda: self.discriminator({"source": ctx.batch["source"], "image": images},
                                                        training=True))

    def loss_log(self, group: str) -> str:
        return {"discriminator": "d_loss", "generator": "g_loss"}[group]

    def loss_terms(self) -> list[Term]:
        def real(ctx):
            return self.patch_logits(ctx, "real", ctx.batch["target"])

        def fake(ctx):
            return self.patch_logits(ctx, "fake", ctx.out["image"])

        def d_adv(ctx):
            r, f = real(ctx), fake(ctx)
            loss = 0.5 * losses.discriminator_loss("non_saturating", r, f)
            return loss, {"d_real": ops.mean(ops.sigmoid(r)), "d_fake": ops.mean(ops.sigmoid(f))}

        def l1(ctx):
            error = ops.abs(ctx.out["image"] - ctx.batch["target"])
            if not self.inpainting:
                return ops.mean(error)
            hole = ctx.batch["mask"]
            in_hole = ops.sum(error * hole) / ops.maximum(ops.sum(hole) * error.shape[-1], 1.0)
            return ops.mean(error), {"l1_hole": in_hole}

        terms = [Term("l1", "generator", l1, weight=self.l1, diagnostics=("l1_hole",) if self.inpainting else ())]
        if self.adversarial_weight == 0:
            return terms
        return [Term("d_adv", "discriminator", d_adv, logged=False, diagnostics=("d_real", "d_fake")),
                Term("g_adv", "generator", lambda ctx: losses.generator_loss("non_saturating", fake(ctx)),
                     weight=self.adversarial_weight, logged=False), *terms]
