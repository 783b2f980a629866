"""Autoencoders with a prior on their codes, on the engine: AE, VAE, AAE, WAE-GAN, WAE-MMD (seed 003, "Recent
improvement (WGAN, AAE, WAE)"; seed 000 contrasts the AE and the VAE with GANs).

Every family has the same networks (`kgan.nets.autoencoder`): an `encoder` (image -> code, deterministic or
Gaussian), a `decoder` (code -> image) and, for the adversarial families, a `latent_critic` on codes. The
reconstruction cost is the WAE paper's c(x, y) = ||x - y||^2 on [0, 1] pixels scaled as the authors' code does
(`cost_scale` 0.05, summed over pixels, mean over the batch); the prior is N(0, I).
- `ae`: c only (one group `autoencoder`); its codes follow no prior, so its prior samples mean little.
- `vae`: Gaussian encoder, c + `kl_weight` KL(q(z|x) || N(0, I)) (closed form, summed over dimensions): the ELBO
  of a Gaussian decoder of variance kl_weight / (2 cost_scale) on [0, 1] pixels, scaled; the default 0.01 is a
  variance of 0.1 (with kl_weight 1, a variance of 10, the decoder learns to ignore the code).
- `wae_mmd` (Algorithm 2): c + lambda MMD_k(Q_Z, P_Z), the IMQ kernel over scales (`kgan.mmd`), lambda 10.
- `wae_gan` (Algorithm 1): groups `latent_critic` then `autoencoder`; the critic ascends
  lambda [log D(z) + log(1 - D(z~))] with prior draws z as real and codes z~ as fake (`d_adv`, weight lambda);
  the autoencoder descends c - lambda log D(z~) (`g_adv`, weight lambda).
- `aae` (Makhzani et al. 2016): three groups per step, in order: `reconstruction` (encoder and decoder on c, the
  reconstruction phase), `latent_critic` (prior draws real, codes fake) and `encoder` (fool the critic): the
  regularization phase. With `prior = "mixture"` (needs `model.num_classes`) the prior is label-conditioned:
  class y's codes should follow its own Gaussian (`MixturePrior`) and the critic sees the label beside the code
  (the supervised AAE of the paper's section 2.3).

Served (`default_signature = "sample"`: TF Serving's `serving_default` draws from the prior by seed):
`decode` (code -> image; the first direction, so every generator consumer scores and shows prior samples),
`encode` (image -> code, the mean of a Gaussian encoder; output "code"), `reconstruct` (image -> image). A
label-conditioned prior serves `generate` (z, label -> image) first instead, then the same three.
"""

from __future__ import annotations

import keras
from keras import ops

from kgan import losses
from kgan.mmd import imq_mmd
from kgan.models import surface
from kgan.models.engine import Engine
from kgan.models.terms import Term

FAMILIES = ("ae", "vae", "aae", "wae_gan", "wae_mmd")
ADVERSARIAL = ("aae", "wae_gan")


@keras.saving.register_keras_serializable(package="kgan")
class Autoencoder(Engine):
    HPARAMS = Engine.HPARAMS + ("family", "cost_scale", "regularization", "kl_weight", "gaussian", "num_classes")
    default_signature = "sample"

    def __init__(self, encoder: keras.Model, decoder: keras.Model, latent_critic: keras.Model | None = None, *,
                 family: str, cost_scale: float = 0.05, regularization: float = 10.0, kl_weight: float = 0.01,
                 gaussian: bool = False, num_classes: int = 0, **kwargs):
        """`regularization`: lambda of the prior term (WAE: 10; AAE: its adversarial terms' weight)."""
        super().__init__(ema_networks=("encoder", "decoder"), **kwargs)
        if family not in FAMILIES:
            raise ValueError(f"unknown autoencoder family {family!r}; choose from {FAMILIES}")
        if (latent_critic is not None) != (family in ADVERSARIAL):
            raise ValueError(f"{family} has a latent critic exactly when it is one of {ADVERSARIAL}")
        self.family = family
        self.cost_scale, self.regularization, self.kl_weight = float(cost_scale), float(regularization), float(kl_weight)
        self.gaussian = bool(gaussian or family == "vae")
        self.num_classes = int(num_classes)
        self.latent_dim = int(decoder.inputs[0].shape[-1])
        self.mixture = None
        if self.num_classes:
            from kgan.nets.autoencoder import MixturePrior

            self.mixture = MixturePrior(self.num_classes, self.latent_dim, name="mixture_prior")
        critic = {"latent_critic": latent_critic} if latent_critic is not None else {}
        self._init_networks({"encoder": encoder, "decoder": decoder, **critic})

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.models.options import autoencoder_options
        from kgan.models.translation import engine_options
        from kgan.nets import autoencoder as nets

        opts = autoencoder_options(cfg)
        family, d = cfg.model.name, cfg.model.latent_dim
        image = (cfg.data.resolution, cfg.data.resolution, cfg.data.channels)
        gaussian = family == "vae" or opts.get("encoder") == "gaussian"
        classes = cfg.model.num_classes if opts.get("prior") == "mixture" else 0
        critic = (nets.latent_critic(d, opts["critic_units"], opts["critic_depth"], classes)
                  if family in ADVERSARIAL else None)
        return cls(nets.encoder(image, d, cfg.model.width, opts["nets"], gaussian, opts["norm"]),
                   nets.decoder(d, image, cfg.model.width, opts["nets"], opts["norm"]), critic, family=family,
                   cost_scale=opts["cost_scale"], gaussian=gaussian, num_classes=classes, name=family,
                   **{k: opts[k] for k in ("regularization", "kl_weight") if k in opts}, **engine_options(cfg))

    # ----- groups
    @property
    def GROUPS(self) -> dict:  # noqa: N802 (the engine's declaration, per family)
        if self.family == "aae":
            return {"reconstruction": ("encoder", "decoder"), "latent_critic": ("latent_critic",),
                    "encoder": ("encoder",)}
        if self.family == "wae_gan":
            return {"latent_critic": ("latent_critic",), "autoencoder": ("encoder", "decoder")}
        return {"autoencoder": ("encoder", "decoder")}

    def loss_log(self, group: str) -> str:
        return {"latent_critic": "d_loss"}.get(group, f"{group}_loss")

    def required_features(self) -> tuple:
        return ("image", "label") if self.num_classes else ("image",)

    # ----- surface
    def _encode_network(self) -> keras.Model:
        """The served encoder: codes (a Gaussian encoder's mean) of the inference encoder."""
        encoder = self.shadow("encoder")
        if not self.gaussian:
            return encoder
        return keras.Model(encoder.input, encoder.get_layer("code").output, name="encode")

    def _image_spec(self) -> surface.InputSpec:
        return surface.InputSpec("image", "image", self.encoder.inputs[0].shape[1:], feature="image")

    def _code_spec(self) -> surface.InputSpec:
        return surface.InputSpec("code", "normal", (self.latent_dim,))

    def inference_inputs(self) -> list[surface.InputSpec]:
        if self.num_classes:
            return [surface.InputSpec("z", "normal", (self.latent_dim,)),
                    surface.InputSpec("label", "categorical", classes=self.num_classes)]
        return [self._code_spec()]

    def inference_network(self) -> keras.Model:
        if not self.num_classes:
            return self.shadow("decoder")
        z = keras.Input((self.latent_dim,), name="z")
        label = keras.Input((), dtype="int32", name="label")
        return keras.Model([z, label], self.shadow("decoder")(self.mixture(z, label)), name="generate")

    def served_directions(self) -> list[surface.Direction]:
        encode = self._encode_network()
        image = keras.Input(self._image_spec().shape, name="image")
        reconstruct = keras.Model(image, self.shadow("decoder")(encode(image)), name="reconstruct")
        codec = [surface.Direction("decode", (self._code_spec(),), self.shadow("decoder"), "encode"),
                 surface.Direction("encode", (self._image_spec(),), encode, "decode", output="code"),
                 surface.Direction("reconstruct", (self._image_spec(),), reconstruct)]
        if self.num_classes:
            return [surface.Direction("generate", tuple(self.inference_inputs()), self.inference_network()), *codec]
        return codec

    # ----- step
    def encode_draw(self, images, training: bool) -> tuple:
        """(codes, {"mean", "log_var"} of a Gaussian encoder, else {}): a Gaussian encoder's codes are draws
        mean + exp(log_var / 2) eps (the reparameterization)."""
        encoded = self.encoder(images, training=training)
        if not self.gaussian:
            return encoded, {}
        mean, log_var = ops.split(encoded, 2, axis=-1)
        return mean + ops.exp(0.5 * log_var) * self.random_normal(ops.shape(mean)), {"mean": mean, "log_var": log_var}

    def forward(self, batch: dict, training: bool) -> dict:
        code, moments = self.encode_draw(batch["image"], training)
        out = {"code": code, **moments}
        if self.family != "aae":  # the AAE's reconstruction phase makes its own pass, in its own update
            out["image"] = self.decoder(code, training=training)
        return out

    def prior(self, ctx):
        """Prior draws shaped like the codes (one draw per update, shared by its terms)."""
        def draw():
            z = self.random_normal(ops.shape(ctx.out["code"]))
            return self.mixture(z, ctx.batch["label"]) if self.num_classes else z
        return ctx.memo("prior", draw)

    def cost(self, images, reconstructions):
        """c(x, y) = cost_scale ||x - y||^2 on [0, 1] pixels (images are in [-1, 1]), mean over the batch."""
        per_example = ops.sum(ops.square((images - reconstructions) / 2.0), axis=list(range(1, len(images.shape))))
        return self.cost_scale * ops.mean(per_example)

    def critic_logits(self, ctx, key: str, codes):
        inputs = {"code": codes, "label": ctx.batch["label"]} if self.num_classes else codes
        return ctx.memo(key, lambda: self.latent_critic(inputs, training=True))

    def loss_terms(self) -> list[Term]:
        main = list(self.GROUPS)[-1]
        if self.family == "aae":
            def reconstruction(ctx):
                x = ctx.batch["image"]
                return self.cost(x, self.decoder(self.encode_draw(x, True)[0], training=True))

            terms = [Term("reconstruction", "reconstruction", reconstruction)]
        else:
            terms = [Term("reconstruction", main, lambda ctx: self.cost(ctx.batch["image"], ctx.out["image"]))]
        if self.family == "vae":
            terms.append(Term("kl", main, lambda ctx: gaussian_kl(ctx.out["mean"], ctx.out["log_var"]),
                              weight=self.kl_weight))
        if self.family == "wae_mmd":
            terms.append(Term("mmd", main, lambda ctx: imq_mmd(ctx.out["code"], self.prior(ctx)),
                              weight=self.regularization))
        if self.family in ADVERSARIAL:
            def d_adv(ctx):
                real, fake = self.critic_logits(ctx, "real", self.prior(ctx)), self.critic_logits(ctx, "fake", ctx.out["code"])
                return (losses.discriminator_loss("non_saturating", real, fake),
                        losses.output_logs("non_saturating", real, fake))

            terms += [Term("d_adv", "latent_critic", d_adv, weight=self.regularization,
                           diagnostics=losses.output_log_names("non_saturating")),
                      Term("g_adv", main, lambda ctx: losses.generator_loss(
                          "non_saturating", self.critic_logits(ctx, "fake", ctx.out["code"])),
                           weight=self.regularization)]
        return terms


def gaussian_kl(mean, log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) = 1/2 sum_j (exp(log_var) + mean^2 - 1 - log_var), mean over the batch."""
    return ops.mean(0.5 * ops.sum(ops.exp(log_var) + ops.square(mean) - 1.0 - log_var, axis=-1))
