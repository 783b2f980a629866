"""Text-to-image GAN (Reed et al. 2016): GAN-CLS, GAN-INT and conditioning augmentation on the engine.

Networks (`kgan.nets.text`): `text_encoder` (strings -> embedding: a char-CNN-GRU behind
`keras.layers.TextVectorization`, the digit-name reader of the class-conditional baseline, or a frozen local
TF-Hub module), `generator` (z, embedding), `discriminator` (image, embedding), and, with the matching objective,
`image_encoder`. Groups: `discriminator` (discriminator, text encoder, image encoder), then `generator`; with
`encoder_updates = "match"` the encoders have their own first group, `text_encoder` (text and image encoder),
trained by `match` alone: D's loss does not reach the text encoder, and a phase that switches `match` off leaves
it fixed (the paper's char-CNN-RNN is pretrained with the joint embedding, then kept fixed).

Terms:
- `d_cls` (GAN-CLS, the paper's Algorithm 1): s_r = D(x, h), s_w = D(x, h^), s_f = D(G(z, h), h) with h^ the
  embedding of a caption of another image of the batch (a random shift of the batch, never 0);
  L_D = BCE(s_r, 1) + (BCE(s_w, 0) + BCE(s_f, 0)) / 2. With `mismatch_weight = 0`: plain conditional
  L_D = BCE(s_r, 1) + BCE(s_f, 0) (Mirza & Osindero's CGAN).
- `g_adv`: -log D(G(z, h), h).
- `g_int` (GAN-INT, weight `interpolation`; 0 = off): -log D(G(z, h_int), h_int) with
  h_int = beta h_1 + (1 - beta) h_2 for two captions of the batch (beta = `interpolation_beta`, the paper's 0.5);
  the discriminator has no real pair for h_int, so only G trains on it.
- `kl` (with `augmentation`): KL(N(mu, sigma^2) || N(0, I)) of the conditioning augmentation (StackGAN, weight
  `kl_weight`, 1).
- `match` (weight `match_weight`; a trainable text encoder only): the joint embedding of images and captions,
  a symmetric softmax cross-entropy between the batch's image and text embeddings (the matching objective;
  a `[[train.phases]]` entry with only this term pretrains the encoder). It uses no label: row i matches row i.

Served: `text` (a batch of strings, the data feature `text`) and `z`; a second direction `interpolate` takes
`text`, `text_to`, `mix` in [0, 1] and `z`: the image of the embedding (1 - mix) e(text) + mix e(text_to), the
gallery's caption interpolation. Inference is deterministic (conditioning augmentation serves its mean).
"""

from __future__ import annotations

import weakref

import keras
from keras import ops

from kgan import losses
from kgan.models import surface
from kgan.models.engine import Engine
from kgan.models.text_options import ENCODER_UPDATES
from kgan.models.terms import Term

_COMPOSED = weakref.WeakKeyDictionary()  # model -> its served networks (built once, kept out of Keras tracking)


def matching_aware_loss(real_logits, wrong_logits, fake_logits, mismatch_weight: float = 1.0):
    """GAN-CLS's discriminator loss on logits: BCE(real, 1) + (w BCE(wrong, 0) + BCE(fake, 0)) / (1 + w); the
    paper's w = 1 is BCE(real, 1) + (BCE(wrong, 0) + BCE(fake, 0)) / 2, and w = 0 the plain conditional loss."""
    real = ops.mean(ops.softplus(-real_logits))
    wrong = ops.mean(ops.softplus(wrong_logits))
    fake = ops.mean(ops.softplus(fake_logits))
    return real + (mismatch_weight * wrong + fake) / (1.0 + mismatch_weight)


def mismatched(values, shift):
    """Each row replaced by the row `shift` places further (0 < shift < batch): another image's caption."""
    return ops.roll(values, shift, axis=0)


@keras.saving.register_keras_serializable(package="kgan")
class TextGAN(Engine):
    HPARAMS = Engine.HPARAMS + ("latent_dim", "mismatch_weight", "interpolation", "interpolation_beta",
                                "kl_weight", "match_weight", "encoder_updates")

    def __init__(self, generator, discriminator, text_encoder, image_encoder=None, *, latent_dim: int,
                 mismatch_weight: float = 1.0, interpolation: float = 0.0, interpolation_beta: float = 0.5,
                 kl_weight: float = 1.0, match_weight: float = 0.0, encoder_updates: str = "gan", **kwargs):
        super().__init__(ema_networks=("generator",), **kwargs)
        self.latent_dim = int(latent_dim)
        self.mismatch_weight = float(mismatch_weight)
        self.interpolation = float(interpolation)
        self.interpolation_beta = float(interpolation_beta)
        self.kl_weight = float(kl_weight)
        self.match_weight = float(match_weight) if image_encoder is not None else 0.0
        if encoder_updates not in ENCODER_UPDATES:
            raise ValueError(f"encoder_updates: expected one of {ENCODER_UPDATES}, got {encoder_updates!r}")
        self.encoder_updates = encoder_updates
        others = {"image_encoder": image_encoder} if image_encoder is not None else {}
        self._init_networks({"generator": generator, "discriminator": discriminator, "text_encoder": text_encoder,
                             **others})

    @property
    def match_only(self) -> bool:
        """Whether the encoders are their own group, trained by the matching objective alone."""
        return bool(self.match_weight) and self.encoder_updates == "match"

    @property
    def GROUPS(self) -> dict:  # noqa: N802 (per instance: the image encoder only with the matching objective)
        encoders = ("text_encoder",) + (("image_encoder",) if self.match_weight else ())
        if self.match_only:
            return {"text_encoder": encoders, "discriminator": ("discriminator",), "generator": ("generator",)}
        return {"discriminator": ("discriminator", *encoders), "generator": ("generator",)}

    @classmethod
    def from_experiment(cls, cfg):
        from kgan.models.text_options import build_networks

        networks, opts = build_networks(cfg)
        return cls(**networks, latent_dim=cfg.model.latent_dim, mismatch_weight=opts["mismatch_weight"],
                   interpolation=opts["interpolation"], interpolation_beta=opts["interpolation_beta"],
                   kl_weight=opts["kl_weight"], match_weight=opts["match_weight"],
                   encoder_updates=opts["encoder_updates"], name="text_gan",
                   **_engine_options(cfg))

    # ----- surface
    def required_features(self) -> tuple:
        return ("image", "text")

    def inference_inputs(self) -> list[surface.InputSpec]:
        return [surface.InputSpec("z", "normal", (self.latent_dim,)), surface.InputSpec("text", "string", feature="text")]

    def inference_network(self) -> keras.Model:
        return self._served()[0]

    def served_directions(self) -> list[surface.Direction]:
        specs = self.inference_inputs()
        interpolate = (*specs, surface.InputSpec(surface.interpolation_target("text"), "string", feature="text"),
                       surface.InputSpec(surface.MIX, "uniform", low=0.0, high=1.0))
        default, mixing = self._served()
        return [surface.Direction("", tuple(specs), default),
                surface.Direction(surface.INTERPOLATE, interpolate, mixing)]

    def _served(self):
        if self not in _COMPOSED:
            generator = self.shadow("generator")
            z = keras.Input((self.latent_dim,), name="z")
            text = keras.Input((), dtype="string", name="text")
            to = surface.interpolation_target("text")
            text_to = keras.Input((), dtype="string", name=to)
            mix = keras.Input((), name=surface.MIX)
            start = self.text_encoder(text)
            default = keras.Model({"z": z, "text": text}, generator({"z": z, "embedding": start}), name="text_to_image")
            weight = ops.expand_dims(mix, -1)
            mixed = (1.0 - weight) * start + weight * self.text_encoder(text_to)
            mixing = keras.Model({"z": z, "text": text, to: text_to, surface.MIX: mix},
                                 generator({"z": z, "embedding": mixed}), name="text_interpolation")
            _COMPOSED[self] = (default, mixing)
        return _COMPOSED[self]

    # ----- step
    def forward(self, batch: dict, training: bool) -> dict:
        embedding = self.text_encoder(batch["text"], training=training)
        z = self.random_normal((ops.shape(embedding)[0], self.latent_dim))
        return {"z": z, "embedding": embedding,
                "image": self.generator({"z": z, "embedding": embedding}, training=training)}

    def critic(self, images, embedding):
        return self.discriminator({"image": images, "embedding": embedding}, training=True)

    def _embedding(self, ctx):
        """The batch's text embeddings through the (trainable) encoder, once per update."""
        return ctx.memo("embedding", lambda: self.text_encoder(ctx.batch["text"], training=True))

    def _critic_embedding(self, ctx):
        """The embedding D sees: the encoder's, through which D's loss trains it unless the matching objective
        alone does."""
        embedding = self._embedding(ctx)
        return ops.stop_gradient(embedding) if self.encoder_updates == "match" else embedding

    def _shift(self, ctx):
        """A random shift in [1, B - 1]: the row whose caption is the mismatched one (another image's)."""
        def draw():
            n = ops.shape(ctx.batch["image"])[0]
            u = self.random_uniform(())
            return 1 + ops.cast(ops.floor(u * ops.cast(n - 1, "float32")), "int32")
        return ctx.memo("shift", draw)

    def loss_terms(self) -> list[Term]:
        def d_cls(ctx):
            embedding = self._critic_embedding(ctx)
            real = self.critic(ctx.batch["image"], embedding)
            fake = self.critic(ops.stop_gradient(ctx.out["image"]), embedding)
            wrong = self.critic(ctx.batch["image"], mismatched(embedding, self._shift(ctx))) \
                if self.mismatch_weight else fake
            return (matching_aware_loss(real, wrong, fake, self.mismatch_weight),
                    {"d_real": ops.mean(ops.sigmoid(real)), "d_fake": ops.mean(ops.sigmoid(fake)),
                     "d_wrong": ops.mean(ops.sigmoid(wrong))})

        def g_adv(ctx):
            embedding = ops.stop_gradient(ctx.out["embedding"])
            return losses.generator_loss("non_saturating", self.critic(ctx.out["image"], embedding))

        def g_int(ctx):
            h = ops.stop_gradient(ctx.out["embedding"])
            beta = self.interpolation_beta
            mixed = beta * h + (1.0 - beta) * mismatched(h, 1)
            images = self.generator({"z": ctx.out["z"], "embedding": mixed}, training=True)
            return losses.generator_loss("non_saturating", self.critic(images, mixed))

        terms = [Term("d_cls", "discriminator", d_cls, logged=False, diagnostics=("d_real", "d_fake", "d_wrong")),
                 Term("g_adv", "generator", g_adv, logged=False)]
        if self.interpolation:
            terms.append(Term("g_int", "generator", g_int, weight=self.interpolation))
        augmentation = _augmentation(self.generator)
        if augmentation is not None:
            terms.append(Term("kl", "generator",
                              lambda ctx: augmentation.kl(ops.stop_gradient(ctx.out["embedding"])),
                              weight=self.kl_weight))
        if self.match_weight:
            terms.append(Term("match", "text_encoder" if self.match_only else "discriminator", self._match,
                              weight=self.match_weight))
        return terms

    def _match(self, ctx):
        """Symmetric softmax cross-entropy between the batch's image and text embeddings (row i matches i)."""
        text = ops.normalize(self._embedding(ctx), axis=-1)
        image = ops.normalize(self.image_encoder(ctx.batch["image"], training=True), axis=-1)
        logits = 10.0 * ops.matmul(image, ops.transpose(text))
        rows = ops.arange(ops.shape(logits)[0])
        ce = keras.losses.sparse_categorical_crossentropy
        return 0.5 * (ops.mean(ce(rows, logits, from_logits=True))
                      + ops.mean(ce(rows, ops.transpose(logits), from_logits=True)))

    def loss_log(self, group: str) -> str:
        return {"text_encoder": "encoder_loss", "discriminator": "d_loss", "generator": "g_loss"}[group]


def _augmentation(generator):
    from kgan.nets.text import ConditioningAugmentation

    return next((layer for layer in generator.layers if isinstance(layer, ConditioningAugmentation)), None)


def _engine_options(cfg) -> dict:
    from kgan.models.translation import engine_options

    return engine_options(cfg)
