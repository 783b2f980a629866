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
Served as `source -> image` (`kgan.models.translation.PairedTranslation`: the surface, forward pass, groups and
adversarial term pair it shares with the restoration models).
"""

from __future__ import annotations

import keras
from keras import ops

from kgan.layers import InferenceDropout
from kgan.models.terms import Term
from kgan.models.translation import PairedTranslation, engine_options, pixel_error


@keras.saving.register_keras_serializable(package="kgan")
class Pix2Pix(PairedTranslation):
    HPARAMS = PairedTranslation.HPARAMS + ("l1", "inpainting")

    def __init__(self, generator: keras.Model, discriminator: keras.Model | None = None, *, l1: float = 100.0,
                 inpainting: bool = False, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.l1 = float(l1)
        self.inpainting = bool(inpainting)

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
                   inpainting=cfg.data.transform.startswith("mask"), name="pix2pix", **engine_options(cfg))

    # ----- surface
    def required_features(self) -> tuple:
        return super().required_features() + (("mask",) if self.inpainting else ())

    @property
    def inference_noise(self) -> str:
        """The paper's noise: dropout kept on at inference (none with `dropout = 0` or
        `dropout_at_inference = false`)."""
        kept = any(isinstance(layer, InferenceDropout) and layer.at_inference and layer.rate > 0
                   for layer in self.inference_network().layers)
        return "dropout kept on at inference" if kept else ""

    # ----- step
    def critic_inputs(self, batch: dict, images):
        return {"source": batch["source"], "image": images}

    def loss_terms(self) -> list[Term]:
        def l1(ctx):
            error = pixel_error("l1", ctx.out["image"], ctx.batch["target"])
            if not self.inpainting:
                return ops.mean(error)
            hole = ctx.batch["mask"]
            in_hole = ops.sum(error * hole) / ops.maximum(ops.sum(hole) * error.shape[-1], 1.0)
            return ops.mean(error), {"l1_hole": in_hole}

        return self.adversarial_terms("non_saturating", d_scale=0.5) + [
            Term("l1", "generator", l1, weight=self.l1, diagnostics=("l1_hole",) if self.inpainting else ())]
