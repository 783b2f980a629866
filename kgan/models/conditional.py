"""Conditional and controllable generation on the shared engine: CGAN, ACGAN, InfoGAN, and D tricks.

None of these copies the training loop; each overrides the engine's hooks (`kgan.models.gan`):

- `CGAN` (Mirza & Osindero 2014): the class label goes to G and D. `model.options.conditioning`:
  `concat` (one-hot concatenation: z ++ onehot(y) for G; for D the flattened image ++ onehot(y) (MLP, as
  in the lecture's code) or K one-hot label maps as extra channels (DCGAN)), `embedding` (a learned
  embedding: z ++ E_g(y); an H*W label map channel for D) or `projection` (Miyato & Koyama 2018: D has
  no label input; logit = psi(phi(x)) + <E(y), phi(x)>; G uses the embedding). Needs num_classes > 0.
- `ACGAN` (Odena et al. 2017): G is conditioned as in CGAN; D sees only the image and has a second head
  (`class_logits`, sharing D's body) trained with the cross-entropy of the class on real AND fake images
  (weight `aux_weight`, default 1); G's loss adds the cross-entropy of its fakes' intended classes.
- `InfoGAN` (Chen et al. 2016): G's input is z ++ onehot(c_cat) ++ c_cont with c_cat ~ Cat(K) (K =
  `categorical`, default 10) and c_cont ~ U(-1, 1)^n (n = `continuous`, default 2). A head Q on D's body
  predicts the codes of fakes; the mutual-information lower bound L_I is the cross-entropy for c_cat
  (weight `cat_weight`, default 1: "lambda = 1 for discrete codes", sec. 6) plus, for c_cont, a
  factored-Gaussian negative log-likelihood (Q predicts mean and log-std; `cont_loss = "mse"` for the
  fixed-variance version) with `cont_weight` default 0.1 (the paper, sec. 6: lambda is "set smaller" for
  continuous codes, so lambda * L_I matches the GAN objective's scale). L_I is added to the D(+Q) loss
  and to the G loss (eq. 6: min_{G,Q} max_D V - lambda L_I). Trained without labels.

Discriminator tricks (`model.options.tricks`, any model in the registry; `kgan.layers`):
`minibatch_discrimination`, `minibatch_stddev`, `virtual_batch_norm`, `spectral_norm`, `self_attention`.
Feature matching is the engine's `train.feature_matching`.

The nets are the registry's own builders (`kgan.nets.mlp` / `kgan.nets.dcgan`) built unconditionally and
re-wired layer by layer (both are chains): new inputs and conditioning in front, tricks inserted where
they belong, heads on the `features` layer. Without options this reproduces the plain builders.
"""

from __future__ import annotations

import importlib

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from kgan import layers as klayers
from kgan.errors import DataError
from kgan.models import surface
from kgan.models.gan import GAN
from kgan.models.terms import Term
from kgan.models.options import CONDITIONING, TRICKS, parse_options
from kgan.models.registry import NETS

# ============================================================================ re-wiring the plain nets
def _chain(model) -> list:
    """The layers of a single-input chain model in order (checks that it is one)."""
    out = [l for l in model.layers if not isinstance(l, layers.InputLayer)]
    prev = model.inputs[0]
    for l in out:
        if l.input is not prev:
            raise ValueError(f"{model.name}: layer {l.name!r} is not fed by the previous layer; "
                             "only chain models can be re-wired")
        prev = l.output
    return out


def _fresh(layer, name=None):
    config = layer.get_config()
    if name:
        config["name"] = name
    return layer.__class__.from_config(config)


def _maybe_sn(layer, sn: bool, name=None):
    """A fresh copy of `layer`, wrapped in SpectralNormalization when asked (Dense / Conv2D only). The wrapper takes
    the layer's dtype policy: it casts its output to its input's dtype, so under a mixed policy a float32 layer
    (the logits) would otherwise return bfloat16 / float16."""
    name = name or layer.name
    if sn and isinstance(layer, (layers.Dense, layers.Conv2D)):
        return layers.SpectralNormalization(_fresh(layer, name + "_sn"), name=name, dtype=layer.dtype_policy)
    return _fresh(layer, name)


def _builders(kind):
    module, g_name, d_name = NETS[kind]
    nets = importlib.import_module(module)
    return getattr(nets, g_name), getattr(nets, d_name)


def build_generator(kind, latent_dim, image_shape, width, *, num_classes=0, conditioning="embedding",
                    codes=None) -> keras.Model:
    """The `kind` generator with inputs z (+ label) (+ code_cat, code_cont) wired in front of its body."""
    g_builder, _ = _builders(kind)
    z = keras.Input((latent_dim,), name="z")
    inputs, parts = [z], [z]
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        checked = klayers.LabelCheck(num_classes, "label", name="label_check")(label)
        if conditioning == "concat":
            parts.append(klayers.OneHot(num_classes, name="label_onehot")(checked))
        else:
            parts.append(layers.Embedding(num_classes, latent_dim, name="label_embedding")(checked))
    if codes:
        k, n = codes
        code_cat = keras.Input((), dtype="int32", name="code_cat")
        inputs.append(code_cat)
        parts.append(klayers.OneHot(k, name="code_cat_onehot")(klayers.LabelCheck(k, "code_cat",
                                                                                    name="code_cat_check")(code_cat)))
        if n:
            code_cont = keras.Input((n,), name="code_cont")
            inputs.append(code_cont)
            parts.append(code_cont)
    x = layers.Concatenate(name="z_and_label" if num_classes else "z_and_codes")(parts) if len(parts) > 1 else z
    body = g_builder(int(x.shape[-1]), image_shape, num_classes=0, width=width)
    for layer in _chain(body):
        x = _fresh(layer)(x)
    return keras.Model(inputs if len(inputs) > 1 else z, x, name="generator")


def build_discriminator(kind, image_shape, width, norm, *, num_classes=0, conditioning="embedding", tricks=(),
                        heads=None, mbd_kernels=100, mbd_dims=5, stddev_group=4, vbn_reference_size=32,
                        q_hidden=128) -> keras.Model:
    """The `kind` discriminator, conditioned (`num_classes` with `conditioning`), with `tricks` and extra
    `heads` ({"class_logits": K} / {"q_cat_logits": K, "q_mean": n, "q_log_std": n}) on its body.

    Output: logits [B, 1], or a dict {"logits", *heads} when there are heads.
    """
    _, d_builder = _builders(kind)
    h, w, c = image_shape
    image = keras.Input(tuple(image_shape), name="image")
    inputs, x = [image], image
    label = None
    if num_classes:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        checked = klayers.LabelCheck(num_classes, "label", name="label_check")(label)
        if conditioning == "concat" and kind == "mlp":
            x = layers.Concatenate(name="image_and_label")(
                [layers.Flatten(name="flat_image")(image), klayers.OneHot(num_classes, name="label_onehot")(checked)])
        elif conditioning == "concat":
            x = layers.Concatenate(name="image_and_label")(
                [image, klayers.OneHot(num_classes, spatial=(h, w), name="label_maps")(checked)])
        elif conditioning == "embedding":
            embedded = layers.Embedding(num_classes, h * w, name="label_embedding")(checked)
            x = layers.Concatenate(name="image_and_label")([image, layers.Reshape((h, w, 1), name="label_map")(embedded)])
    body_shape = tuple(int(d) for d in x.shape[1:])
    d_kwargs = {"norm": norm} if kind != "mlp" else {}
    if kind == "mlp":
        body = d_builder(body_shape, num_classes=0, width=width)
    else:
        body = d_builder(body_shape, num_classes=0, width=width, **d_kwargs)
    chain = _chain(body)
    sn = "spectral_norm" in tricks
    vbn = "virtual_batch_norm" in tricks
    R = vbn_reference_size
    if vbn:
        x = klayers.ReferenceBatch(R, name="vbn_reference")(x)
    convs = [i for i, l in enumerate(chain) if isinstance(l, layers.Conv2D)]
    norm_slots = [l for l in chain if l.name.endswith("_norm")]
    features_at = [i for i, l in enumerate(chain) if l.name == "features"][0]
    for i, layer in enumerate(chain):
        if layer.name == "logits":
            break
        if "self_attention" in tricks and convs and i == convs[-1]:
            x = klayers.SelfAttention(name="self_attention")(x)
        if i == features_at:
            if vbn:
                x = klayers.DropReference(R, name="vbn_drop_reference")(x)
            if "minibatch_stddev" in tricks:
                x = klayers.MinibatchStdDev(stddev_group, name="minibatch_stddev")(x)
        if vbn and layer.name.endswith("_norm"):
            x = klayers.VirtualBatchNormalization(R, name=layer.name)(x)
        else:
            x = _maybe_sn(layer, sn)(x)
        if vbn and not norm_slots and isinstance(layer, layers.Dense) and i < features_at:
            x = klayers.VirtualBatchNormalization(R, name=f"{layer.name}_vbn")(x)
        if i == features_at and "minibatch_discrimination" in tricks:
            x = klayers.MinibatchDiscrimination(mbd_kernels, mbd_dims, name="minibatch_discrimination")(x)
    features = x

    def dense(units, name, source=features, activation=None):
        return _maybe_sn(layers.Dense(units, activation=activation, dtype="float32", name=name), sn)(source)

    logits = dense(1, "logits")
    if num_classes and conditioning == "projection":
        projection = klayers.Projection(num_classes, dtype="float32", name="projection")([features, checked])
        logits = layers.Add(name="logits_plus_projection", dtype="float32")([logits, projection])
    if not heads:
        return keras.Model(inputs if len(inputs) > 1 else image, logits, name="discriminator")
    outputs = {"logits": logits}
    hidden = None
    for name, units in heads.items():
        if name.startswith("q_"):
            if hidden is None:  # InfoGAN's Q: one hidden FC layer on D's shared body (paper, appendix C)
                hidden = layers.LeakyReLU(0.1, name="q_act")(dense(q_hidden, "q_hidden", features))
            outputs[name] = dense(units, name, hidden)
        else:
            outputs[name] = dense(units, name)
    return keras.Model(inputs if len(inputs) > 1 else image, outputs, name="discriminator")


# ============================================================================ registry entry point
def customize(cfg, spec, image_shape, norm):
    """(generator, discriminator, extra model kwargs) for a registry spec; used by `registry.build_gan`."""
    family = spec.name if spec.customize is not None else None
    opts = parse_options(cfg, family, spec.nets)
    k = cfg.model.num_classes
    kind, width, latent = opts["nets"], cfg.model.width, cfg.model.latent_dim
    trick_kw = {key: opts[key] for key in ("mbd_kernels", "mbd_dims", "stddev_group", "vbn_reference_size")}
    if trick_kw["vbn_reference_size"] is None:  # default: 32, at most one D batch
        trick_kw["vbn_reference_size"] = max(1, min(32, cfg.data.batch_size // cfg.train.n_critic))
    conditioning = opts.get("conditioning") or "embedding"
    extra = {}
    if family == "acgan":
        generator = build_generator(kind, latent, image_shape, width, num_classes=k, conditioning=conditioning)
        discriminator = build_discriminator(kind, image_shape, width, norm, tricks=opts["tricks"],
                                            heads={"class_logits": k}, **trick_kw)
        extra = {"aux_weight": float(opts["aux_weight"])}
    elif family == "infogan":
        kc, n = opts["categorical"], opts["continuous"]
        generator = build_generator(kind, latent, image_shape, width, codes=(kc, n))
        heads = {"q_cat_logits": kc}
        if n:
            heads.update({"q_mean": n, **({"q_log_std": n} if opts["cont_loss"] == "gaussian" else {})})
        discriminator = build_discriminator(kind, image_shape, width, norm, tricks=opts["tricks"], heads=heads,
                                            **trick_kw)
        extra = {"categorical": kc, "continuous": n, "cat_weight": float(opts["cat_weight"]),
                 "cont_weight": float(opts["cont_weight"]), "cont_loss": opts["cont_loss"]}
    else:  # cgan, or a plain model with tricks
        generator = build_generator(kind, latent, image_shape, width, num_classes=k, conditioning=conditioning)
        discriminator = build_discriminator(kind, image_shape, width, norm, num_classes=k,
                                            conditioning=conditioning, tricks=opts["tricks"], **trick_kw)
    return generator, discriminator, extra


# ============================================================================ models
def check_labels(labels, batch: int, num_classes: int, what: str = "labels") -> np.ndarray:
    """Eager check of labels given to `generate`: shape [B] matching z's batch, ints in [0, num_classes)."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or len(arr) != batch:
        raise DataError(f"{what}: expected shape [{batch}] (one int per latent vector), got {list(arr.shape)}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        if not np.all(np.equal(np.mod(arr, 1), 0)):
            raise DataError(f"{what}: expected integers in [0, {num_classes}), got {arr.dtype}")
    if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise DataError(f"{what}: {bad} is out of range; labels must be in [0, {num_classes}) "
                        f"(num_classes = {num_classes})")
    return arr.astype("int32")


def _is_eager(*tensors) -> bool:
    return tf.executing_eagerly() and not any(isinstance(t, keras.KerasTensor) for t in tensors)


def _sparse_ce(labels, logits):
    return ops.mean(keras.losses.sparse_categorical_crossentropy(ops.cast(labels, "int32"),
                                                                 ops.cast(logits, "float32"), from_logits=True))


@keras.saving.register_keras_serializable(package="kgan")
class CGAN(GAN):
    """The engine with labels on both sides; `generate` checks labels eagerly (range and shape)."""

    def condition_inputs(self, z, labels) -> dict:
        if self.num_classes and _is_eager(z):
            if labels is None:
                raise DataError(f"labels: this model is conditional (num_classes = {self.num_classes}); "
                                "pass one label per latent vector")
            labels = check_labels(labels, int(np.shape(z)[0]), self.num_classes)
        return super().condition_inputs(z, labels)


@keras.saving.register_keras_serializable(package="kgan")
class ACGAN(CGAN):
    """D = image only, with a `class_logits` head; auxiliary cross-entropy on real and fake."""

    HPARAMS = CGAN.HPARAMS + ("aux_weight",)

    def __init__(self, generator, discriminator, *, aux_weight: float = 1.0, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.aux_weight = float(aux_weight)

    def d_conditions(self) -> tuple:
        return ()

    def extra_terms(self) -> list[Term]:
        def d_aux(ctx):
            return (_sparse_ce(ctx.batch["label"], self.d_real(ctx)["class_logits"])
                    + _sparse_ce(ctx.out["label"], self.d_fake(ctx)["class_logits"]))

        def g_aux(ctx):
            return _sparse_ce(ctx.out["label"], self.d_fake(ctx)["class_logits"])

        return [Term("d_aux", "discriminator", d_aux, weight=self.aux_weight),
                Term("g_aux", "generator", g_aux, weight=self.aux_weight)]


@keras.saving.register_keras_serializable(package="kgan")
class InfoGAN(GAN):
    """G(z, c_cat, c_cont); Q (heads on D's body) maximizes the mutual-information lower bound."""

    HPARAMS = GAN.HPARAMS + ("categorical", "continuous", "cat_weight", "cont_weight", "cont_loss")

    def __init__(self, generator, discriminator, *, categorical: int = 10, continuous: int = 2,
                 cat_weight: float = 1.0, cont_weight: float = 0.1, cont_loss: str = "gaussian", **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        self.categorical = int(categorical)
        self.continuous = int(continuous)
        self.cat_weight = float(cat_weight)
        self.cont_weight = float(cont_weight)
        self.cont_loss = cont_loss
        seed = kwargs.get("seed")
        self.code_seed_generator = keras.random.SeedGenerator(None if seed is None else seed + 1,
                                                              name="code_seed")

    def required_features(self) -> tuple:
        return ("image",)  # trained without labels

    def inference_inputs(self):
        """z, the categorical code c_cat (cycling in fixed rows) and the continuous codes c_cont ~ U(-1, 1)."""
        specs = super().inference_inputs() + [surface.InputSpec("code_cat", "categorical", classes=self.categorical)]
        if self.continuous:
            specs.append(surface.InputSpec("code_cont", "uniform", (self.continuous,), low=-1.0, high=1.0))
        return specs

    # ----- codes
    def sample_conditions(self, batch_size, batch: dict) -> dict:
        """c_cat ~ Cat(K), c_cont ~ U(-1, 1)^n from the engine's replica-aware draws; data labels are unused."""
        u = self.random_uniform((batch_size,))
        codes = {"code_cat": ops.minimum(ops.cast(ops.floor(u * self.categorical), "int32"), self.categorical - 1)}
        if self.continuous:
            codes["code_cont"] = self.random_uniform((batch_size, self.continuous), -1.0, 1.0)
        return codes

    def d_conditions(self) -> tuple:
        return ()

    def condition_inputs(self, z, labels) -> dict:
        """labels: None (c_cat cycling 0..K-1, random c_cont), ints (c_cat) or {"code_cat", "code_cont"}."""
        b = ops.shape(z)[0]
        if isinstance(labels, dict):
            codes = dict(labels)
            if _is_eager(z):
                codes["code_cat"] = check_labels(codes["code_cat"], int(np.shape(z)[0]), self.categorical,
                                                 "code_cat")
                if self.continuous:
                    cont = np.asarray(codes.get("code_cont"), np.float32)
                    if cont.shape != (int(np.shape(z)[0]), self.continuous):
                        raise DataError(f"code_cont: expected shape [{int(np.shape(z)[0])}, {self.continuous}], "
                                        f"got {list(cont.shape)}")
                    codes["code_cont"] = cont
            return codes
        if labels is None:
            code_cat = ops.cast(ops.arange(b) % self.categorical, "int32")
        elif _is_eager(z):
            code_cat = check_labels(labels, int(np.shape(z)[0]), self.categorical, "code_cat")
        else:
            code_cat = labels
        codes = {"code_cat": code_cat}
        if self.continuous:
            codes["code_cont"] = keras.random.uniform((b, self.continuous), -1.0, 1.0, seed=self.code_seed_generator)
        return codes

    # ----- mutual information
    def info_loss(self, out: dict, codes: dict) -> dict:
        terms = {"info_cat": _sparse_ce(codes["code_cat"], out["q_cat_logits"])}
        if self.continuous:
            c = ops.cast(codes["code_cont"], "float32")
            mean = ops.cast(out["q_mean"], "float32")
            if self.cont_loss == "mse":
                nll = ops.sum(ops.square(c - mean), axis=-1)
            else:  # factored Gaussian: -log N(c; mu, sigma^2) up to the constant 0.5 log(2 pi) per dim
                log_std = ops.clip(ops.cast(out["q_log_std"], "float32"), -5.0, 5.0)
                nll = ops.sum(log_std + 0.5 * ops.square((c - mean) * ops.exp(-log_std)), axis=-1)
            terms["info_cont"] = ops.mean(nll)
        return terms

    def extra_terms(self) -> list[Term]:
        """L_I added to the D(+Q) loss and to the G loss (eq. 6: min_{G,Q} max_D V - lambda L_I)."""
        weights = {"info_cat": self.cat_weight, **({"info_cont": self.cont_weight} if self.continuous else {})}
        terms = []
        for side, group in (("d", "discriminator"), ("g", "generator")):
            for part, weight in weights.items():
                terms.append(Term(f"{side}_{part}", group,
                                  lambda ctx, part=part: self.info_loss(self.d_fake(ctx), ctx.out)[part],
                                  weight=weight))
        return terms


def predicted_codes(gan, images, batch_size: int = 256) -> dict:
    """Q's predictions on images: {"code_cat": argmax [N], "code_cont": mean [N, n]} (numpy)."""
    cats, conts = [], []
    for i in range(0, len(images), batch_size):
        out = gan.discriminator(np.asarray(images[i:i + batch_size], np.float32), training=False)
        cats.append(np.argmax(np.asarray(out["q_cat_logits"]), axis=-1))
        if "q_mean" in out:
            conts.append(np.asarray(out["q_mean"]))
    return {"code_cat": np.concatenate(cats), **({"code_cont": np.concatenate(conts)} if conts else {})}


__all__ = ["ACGAN", "CGAN", "InfoGAN", "TRICKS", "CONDITIONING", "build_discriminator", "build_generator",
           "check_labels", "customize", "parse_options", "predicted_codes"]
