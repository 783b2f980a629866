"""`model.options`: the per-model options schema and its validation, TensorFlow-free (run at config load).

Common options (every model in the registry): `tricks` (discriminator tricks, `kgan.layers`), `nets`
(mlp | dcgan), and the tricks' sizes. Families add their own (`_FAMILY_OPTIONS`). Errors name the key
(`model.options.tricks`) and what is allowed.
"""

from __future__ import annotations

from kgan.data import pairs
from kgan.errors import ConfigError
from kgan.models.registry import NETS

TRICKS = ("minibatch_discrimination", "minibatch_stddev", "virtual_batch_norm", "spectral_norm",
          "self_attention")
CONDITIONING = ("concat", "embedding", "projection")

_COMMON_OPTIONS = {"tricks": [], "nets": None, "mbd_kernels": 100, "mbd_dims": 5, "stddev_group": 4,
                   "vbn_reference_size": None}
_FAMILY_OPTIONS = {
    "cgan": {"conditioning": None},
    "acgan": {"conditioning": None, "aux_weight": 1.0},
    "infogan": {"categorical": 10, "continuous": 2, "cat_weight": 1.0, "cont_weight": 0.1,
                "cont_loss": "gaussian"},
}


PIX2PIX_OPTIONS = {"l1": 100.0, "adversarial_weight": 1.0, "dropout": 0.5, "dropout_at_inference": True, "patch_depth": None}

#: srgan / deblurgan options and their defaults (`kgan.models.restoration`); the adversarial loss is model.loss,
#: the critic's normalization model.norm, the gradient penalty train.gradient_penalty, as for every GAN
RESTORATION_OPTIONS = {
    "srgan": {"pixel_loss": "mse", "pixel_weight": 1.0, "perceptual": "random:4", "perceptual_weight": 1.0,
              "adversarial_weight": 1e-3, "blocks": 16, "generator_norm": "none"},
    "deblurgan": {"pixel_loss": "l1", "pixel_weight": 0.0, "perceptual": "random:4", "perceptual_weight": 100.0,
                  "adversarial_weight": 1.0, "blocks": 9, "generator_norm": "instance"},
}
#: what each family's generator is made of (not options: they define the family)
RESTORATION_NETS = {
    "srgan": {"scales": (2, 4, 8), "edge_kernel": 9, "downsample": 0, "global_skip": False,
              "data": "srgan upsamples its source by 2, 4 or 8: set data.transform = 'downsample:K[:KERNEL]' "
                      "(K = 2, 4, 8)"},
    "deblurgan": {"scales": (1,), "edge_kernel": 7, "downsample": 2, "global_skip": True,
                  "data": "deblurgan restores a degraded image of the image's own size and channels: set "
                          "data.transform = 'blur:S', 'blur:motion' or 'blur:trajectory' (or a paired: source of "
                          "such pairs)"},
}
GENERATOR_NORMS = ("none", "batch", "instance")

_DOCS = {
    "pixel_loss": "pixel term: l1 | mse",
    "pixel_weight": "weight of the pixel term (the only term of the pixel-only baseline and of a pretraining phase)",
    "perceptual": "feature network of the perceptual term: random:DEPTH | classifier:PATH | vgg19:PATH "
                  "(kgan.perceptual; PATH a local file, never downloaded)",
    "perceptual_weight": "weight of the perceptual term (DeblurGAN: 100)",
    "blocks": "residual blocks of the generator (SRResNet 16, DeblurGAN 9)",
    "generator_norm": f"normalization in the generator: one of {list(GENERATOR_NORMS)} (EDSR/EPSR: none; SRGAN: "
                      "batch; DeblurGAN: instance)",
    "l1": "lambda of the L1 term (the paper: 100)",
    "adversarial_weight": "weight of G's adversarial term; 0 = no discriminator at all (pix2pix: L1 only; "
                          "srgan/deblurgan: pixel and perceptual terms only); SRGAN: 1e-3",
    "dropout": "dropout rate in the first decoder blocks (0 = none)",
    "dropout_at_inference": "keep dropout on when serving (the paper's noise source)",
    "patch_depth": "PatchGAN stride-2 layers (patch 16/34/70/142 px; default: the deepest with patches <= half the image)",
    "tricks": f"discriminator tricks, any of {list(TRICKS)}",
    "nets": "network family: mlp | dcgan (default: the model's own)",
    "mbd_kernels": "minibatch discrimination: number of kernels", "mbd_dims": "minibatch discrimination: kernel size",
    "stddev_group": "minibatch stddev: group size (0 = whole batch)",
    "vbn_reference_size": "virtual batch norm: reference batch size (default min(32, batch))",
    "conditioning": f"how labels enter G and D, one of {list(CONDITIONING)} (default concat for mlp, else projection)",
    "aux_weight": "weight of the auxiliary classification loss",
    "categorical": "size K of the categorical code", "continuous": "number of continuous codes U(-1, 1)",
    "cat_weight": "lambda of the categorical mutual-information term",
    "cont_weight": "lambda of the continuous mutual-information term",
    "cont_loss": "continuous code loss: gaussian (NLL, learned std) | mse",
    "max_width": "most feature maps of a growing network's block (model.width at the target resolution, doubling "
                 "per halving)",
    "drift": "weight of the critic's drift term epsilon E[D(x)^2] (ProGAN: 0.001)",
}


def describe_options() -> list[str]:
    """One line per option: `key = default  # meaning`, the common ones first, then each family's."""
    from kgan.config import _toml_value

    def line(key, default):
        return f"  {key} = {'(unset)' if default is None else _toml_value(default)}  # {_DOCS[key]}"

    lines = ["every GAN (gan, dcgan, lsgan, wgan, wgan_gp, cgan, acgan, infogan):"]
    lines += [line(k, v) for k, v in _COMMON_OPTIONS.items()]
    for family, options in _FAMILY_OPTIONS.items():
        lines += [f"{family}:"] + [line(k, v) for k, v in options.items()]
    lines += ["pix2pix:"] + [line(k, v) for k, v in PIX2PIX_OPTIONS.items()]
    lines += describe_cyclegan_options()
    lines += describe_autoencoder_options()
    from kgan.models.text_options import DOCS as TEXT_DOCS, TEXT_GAN_OPTIONS

    lines += ["text_gan:"] + [f"  {k} = {_toml_value(v)}  # {TEXT_DOCS[k]}" for k, v in TEXT_GAN_OPTIONS.items()]
    lines += ["progan:"] + [line(k, v) for k, v in PROGAN_OPTIONS.items()]
    from kgan.models.stylegan_options import describe_stylegan_options

    lines += describe_stylegan_options()
    for family, options in RESTORATION_OPTIONS.items():
        lines += [f"{family}:"] + [line(k, v) for k, v in options.items()]
    return lines


def with_defaults(cfg, defaults: dict, owner: str) -> dict:
    """`model.options` over `defaults`; a ConfigError naming the first option `owner` does not have."""
    raw = dict(cfg.model.options)
    unknown = sorted(set(raw) - set(defaults))
    if unknown:
        raise ConfigError(f"model.options.{unknown[0]}: unknown option for {owner}; allowed: {sorted(defaults)}")
    return {**defaults, **raw}


def check_non_negative(opts: dict, keys) -> None:
    """Each of `keys` that `opts` has must be a number >= 0 (not a bool)."""
    for key in keys:
        if key in opts and (isinstance(opts[key], bool) or not isinstance(opts[key], (int, float)) or opts[key] < 0):
            raise ConfigError(f"model.options.{key}: expected a number >= 0, got {opts[key]!r}")


def check_upsampling_resolution(cfg, nets: str, hint: str = "") -> None:
    """`data.resolution` must be one the upsampling nets (`kgan.nets.plan`) can reach: 28, 32, 64, 128, ..."""
    from kgan.nets.plan import upsampling_plan

    try:
        upsampling_plan(cfg.data.resolution)
    except ValueError:
        raise ConfigError(f"data.resolution: {cfg.data.resolution} is not possible for {nets} "
                          f"(28, 32, 64, 128, 256, ...){hint}") from None


def pix2pix_options(cfg) -> dict:
    """pix2pix's `model.options` with defaults, validated; it needs paired data (`kgan.data.pairs`)."""
    if not pairs.has_pairs(cfg.data):
        raise ConfigError("data.transform: pix2pix learns source -> target pairs; set data.transform to one of "
                          "mask, mask:half, edges, blur:S, downsample:K, colorize, label_map:K, or use "
                          "data.source = 'paired:DIR_A,DIR_B'")
    opts = with_defaults(cfg, PIX2PIX_OPTIONS, "pix2pix")
    check_non_negative(opts, ("l1", "adversarial_weight", "dropout"))
    if opts["dropout"] >= 1:
        raise ConfigError(f"model.options.dropout: expected a rate in [0, 1), got {opts['dropout']!r}")
    if not isinstance(opts["dropout_at_inference"], bool):
        raise ConfigError(f"model.options.dropout_at_inference: expected true or false, got {opts['dropout_at_inference']!r}")
    depth = opts["patch_depth"]
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 5):
        raise ConfigError(f"model.options.patch_depth: expected an int in 1..5, got {depth!r}")
    check_upsampling_resolution(cfg, "pix2pix's U-Net")
    return opts


def parse_options(cfg, family: str | None, default_nets: str) -> dict:
    """`model.options` with defaults, validated; errors name the key (`model.options.tricks`)."""
    k = cfg.model.num_classes
    if family in ("cgan", "acgan") and k <= 0:
        raise ConfigError(f"model.num_classes: {family} needs the number of classes (> 0; 10 for MNIST), "
                          f"got {k}")
    if family == "infogan" and k:
        raise ConfigError("model.num_classes: infogan learns its codes without labels; set model.num_classes = 0 "
                          "(the categorical code size is model.options.categorical)")
    allowed = {**_COMMON_OPTIONS, **_FAMILY_OPTIONS.get(family, {})}
    opts = with_defaults(cfg, allowed, f"model {cfg.model.name!r}")
    tricks = opts["tricks"]
    if isinstance(tricks, str):
        tricks = [tricks]
    if not isinstance(tricks, list) or not all(isinstance(t, str) for t in tricks):
        raise ConfigError(f"model.options.tricks: expected a list of names from {list(TRICKS)}, got {tricks!r}")
    for t in tricks:
        if t == "feature_matching":
            raise ConfigError("model.options.tricks: feature matching is the engine option "
                              "train.feature_matching (its weight), not a discriminator trick")
        if t not in TRICKS:
            raise ConfigError(f"model.options.tricks: unknown trick {t!r}; choose from {list(TRICKS)}")
    opts["tricks"] = list(dict.fromkeys(tricks))
    opts["nets"] = opts["nets"] or default_nets
    if opts["nets"] not in NETS:
        raise ConfigError(f"model.options.nets: {opts['nets']!r} is not allowed; choose from {list(NETS)}")
    if "conditioning" in opts:
        opts["conditioning"] = opts["conditioning"] or ("concat" if opts["nets"] == "mlp" else "projection")
        if opts["conditioning"] not in CONDITIONING:
            raise ConfigError(f"model.options.conditioning: {opts['conditioning']!r} is not allowed; "
                              f"choose from {list(CONDITIONING)}")
    for key in ("mbd_kernels", "mbd_dims", "vbn_reference_size", "categorical"):
        if key == "vbn_reference_size" and opts[key] is None:
            continue
        if key in opts and (not isinstance(opts[key], int) or isinstance(opts[key], bool) or opts[key] < 1):
            raise ConfigError(f"model.options.{key}: expected an int >= 1, got {opts[key]!r}")
    for key in ("stddev_group", "continuous"):
        if key in opts and (not isinstance(opts[key], int) or isinstance(opts[key], bool) or opts[key] < 0):
            raise ConfigError(f"model.options.{key}: expected an int >= 0, got {opts[key]!r}")
    check_non_negative(opts, ("aux_weight", "cat_weight", "cont_weight"))
    if opts.get("cont_loss", "gaussian") not in ("gaussian", "mse"):
        raise ConfigError(f"model.options.cont_loss: {opts['cont_loss']!r} is not allowed; "
                          "choose from ['gaussian', 'mse']")
    if opts["nets"] == "mlp" and "self_attention" in opts["tricks"]:
        raise ConfigError("model.options.tricks: self_attention needs feature maps; use model.options.nets = "
                          "'dcgan' (or a convolutional model)")
    if ("virtual_batch_norm" in opts["tricks"] and opts["vbn_reference_size"]
            and opts["vbn_reference_size"] > cfg.data.batch_size):
        raise ConfigError(f"model.options.vbn_reference_size: {opts['vbn_reference_size']} is larger than "
                          f"data.batch_size {cfg.data.batch_size}")
    return opts


def restoration_options(cfg) -> dict:
    """srgan / deblurgan `model.options` with the family's defaults, validated, and the data section checked
    against what the family's generator can map (the scale, the channels, the sizes its nets need)."""
    from kgan import perceptual

    family = cfg.model.name
    nets = RESTORATION_NETS[family]
    if not pairs.has_pairs(cfg.data):
        raise ConfigError(f"data.transform: {nets['data']}")
    opts = with_defaults(cfg, RESTORATION_OPTIONS[family], family)
    check_non_negative(opts, ("pixel_weight", "perceptual_weight", "adversarial_weight"))
    if opts["pixel_loss"] not in ("l1", "mse"):
        raise ConfigError(f"model.options.pixel_loss: expected 'l1' or 'mse', got {opts['pixel_loss']!r}")
    blocks = opts["blocks"]
    if isinstance(blocks, bool) or not isinstance(blocks, int) or not 0 <= blocks <= 64:
        raise ConfigError(f"model.options.blocks: expected an int in 0..64, got {blocks!r}")
    if opts["generator_norm"] not in GENERATOR_NORMS:
        raise ConfigError(f"model.options.generator_norm: {opts['generator_norm']!r} is not allowed; "
                          f"choose from {list(GENERATOR_NORMS)}")
    perceptual.parse(opts["perceptual"])
    if cfg.model.loss == "wasserstein" and not cfg.train.gradient_penalty:
        raise ConfigError(f"model.loss: a Wasserstein critic without a constraint is unbounded; {family} needs "
                          "train.gradient_penalty > 0 with it (WGAN-GP: 10)")
    source, r = pairs.source_shape(cfg.data), cfg.data.resolution
    scale = r // source[0]
    if scale not in nets["scales"] or source[0] * scale != r or (scale == 1 and source[-1] != cfg.data.channels):
        raise ConfigError(f"data.transform: {cfg.data.transform or cfg.data.source!r} makes sources {source} for "
                          f"{r}x{r}x{cfg.data.channels} images; {nets['data']}")
    if r % 2 ** nets["downsample"]:
        raise ConfigError(f"data.resolution: {family}'s generator halves the image {nets['downsample']} times; "
                          f"{r} is not divisible by {2 ** nets['downsample']}")
    check_upsampling_resolution(cfg, f"{family}'s discriminator")
    return opts


def perceptual_files(cfg) -> list[str]:
    """The file of the perceptual loss's network, when it has one (`classifier:PATH`, `vgg19:PATH`)."""
    from kgan import perceptual

    kind, arg = perceptual.parse(restoration_options(cfg)["perceptual"])
    return [arg] if kind in ("classifier", "vgg19") else []


#: cyclegan's options and their defaults (`kgan.models.cyclegan`); the adversarial loss is model.loss
#: (least_squares by default), the learning-rate schedule train.phases (a `decay = "linear"` phase)
CYCLEGAN_OPTIONS = {"generator": "resnet", "blocks": None, "cycle_weight": 10.0, "identity_weight": 0.5,
                    "pool_size": 50, "patch_depth": None}
CYCLEGAN_GENERATORS = ("resnet", "unet")
_CYCLEGAN_DOCS = {
    "generator": "resnet (the paper's: c7s1-k, two stride-2 downs, residual blocks, two ups) | unet (pix2pix's, "
                 "without dropout)",
    "blocks": "residual blocks of the ResNet generator (default: the paper's 9 from 256 px, else 6)",
    "cycle_weight": "lambda of the cycle-consistency L1 in both directions (the paper: 10; 0 = the GAN-alone "
                    "ablation, which has no identity term either)",
    "identity_weight": "the identity L1 ||G_AB(b) - b|| + ||G_BA(a) - a|| as a fraction of cycle_weight (0.5)",
    "pool_size": "past fakes kept per discriminator; half of each D batch comes from them (0 = none)",
    "patch_depth": "PatchGAN stride-2 layers (default: the deepest with patches <= half the image)",
}


def describe_cyclegan_options() -> list[str]:
    from kgan.config import _toml_value

    return ["cyclegan:"] + [f"  {k} = {'(unset)' if v is None else _toml_value(v)}  # {_CYCLEGAN_DOCS[k]}"
                            for k, v in CYCLEGAN_OPTIONS.items()]


def cyclegan_options(cfg) -> dict:
    """cyclegan's `model.options` with defaults, validated; it needs an `unpaired:` source."""
    if not pairs.has_domains(cfg.data):
        raise ConfigError(f"data.source: cyclegan learns from two unpaired domains; use "
                          f"'unpaired:SOURCE_A,SOURCE_B' or a prepared set of one (got {cfg.data.source!r})")
    opts = with_defaults(cfg, CYCLEGAN_OPTIONS, "cyclegan")
    if opts["generator"] not in CYCLEGAN_GENERATORS:
        raise ConfigError(f"model.options.generator: {opts['generator']!r} is not allowed; choose from "
                          f"{list(CYCLEGAN_GENERATORS)}")
    check_non_negative(opts, ("cycle_weight", "identity_weight"))
    for key, low, high in (("pool_size", 0, 10000), ("blocks", 0, 64), ("patch_depth", 1, 5)):
        value = opts[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
            raise ConfigError(f"model.options.{key}: expected an int in {low}..{high}, got {value!r}")
    if opts["blocks"] is None:
        opts["blocks"] = 9 if cfg.data.resolution >= 256 else 6
    if cfg.model.loss not in ("auto", "least_squares", "non_saturating", "minimax", "hinge"):
        raise ConfigError(f"model.loss: {cfg.model.loss!r} needs a constrained critic; cyclegan's critics take "
                          "least_squares (the paper), non_saturating, minimax or hinge")
    r = cfg.data.resolution
    if opts["generator"] == "resnet" and r % 4:
        raise ConfigError(f"data.resolution: the ResNet generator downsamples twice; {r} is not divisible by 4")
    if opts["generator"] == "unet":
        check_upsampling_resolution(cfg, "the U-Net generator")
    return opts


#: the autoencoder families' options and defaults (`kgan.models.autoencoder`): every family has nets and
#: cost_scale, the others only where they mean something
_CODEC = {"nets": "dcgan", "norm": "layer", "cost_scale": 0.05}
_CRITIC = {"critic_units": 512, "critic_depth": 4}
AUTOENCODER_OPTIONS = {
    "ae": dict(_CODEC),
    "vae": {**_CODEC, "kl_weight": 0.01},
    "wae_mmd": {**_CODEC, "regularization": 10.0, "encoder": "deterministic"},
    "wae_gan": {**_CODEC, "regularization": 10.0, "encoder": "deterministic", **_CRITIC},
    "aae": {**_CODEC, "regularization": 1.0, "encoder": "deterministic", "prior": "gaussian", **_CRITIC},
}
_AUTOENCODER_DOCS = {
    "nets": "encoder/decoder bodies: dcgan (the DCGAN discriminator and generator) | mlp",
    "norm": "normalization in the DCGAN encoder and decoder: layer | batch (the WAE paper's; its moving statistics "
            "lag for the first ~1,000 steps, so a briefly trained model serves badly) | none",
    "cost_scale": "c(x, y) = cost_scale * ||x - y||^2 on [0, 1] pixels, summed over pixels (the WAE authors: 0.05)",
    "kl_weight": "weight of KL(q(z|x) || N(0, I)): with c, the ELBO of a Gaussian decoder of variance kl_weight / "
                 "(2 cost_scale) on [0, 1] pixels (0.01: 0.1); 1 (variance 10) lets the code be ignored",
    "regularization": "lambda of the prior term (WAE: 10; aae: weight of its adversarial terms)",
    "encoder": "deterministic | gaussian (codes drawn from N(mean, exp(log_var)) in training; served: the mean)",
    "prior": "gaussian N(0, I) | mixture: one Gaussian per class, the critic sees the label (supervised AAE; needs "
             "model.num_classes)",
    "critic_units": "units of each hidden layer of the latent critic (the WAE paper: 512)",
    "critic_depth": "hidden layers of the latent critic (the WAE paper: 4)",
}


def describe_autoencoder_options() -> list[str]:
    from kgan.config import _toml_value

    return [line for family, options in AUTOENCODER_OPTIONS.items() for line in
            [f"{family}:"] + [f"  {k} = {_toml_value(v)}  # {_AUTOENCODER_DOCS[k]}" for k, v in options.items()]]


def autoencoder_options(cfg) -> dict:
    """An autoencoder family's `model.options` with defaults, validated against the config's data and model."""
    family = cfg.model.name
    opts = with_defaults(cfg, AUTOENCODER_OPTIONS[family], family)
    check_non_negative(opts, ("cost_scale", "kl_weight", "regularization"))
    for key, allowed in (("nets", ("dcgan", "mlp")), ("norm", ("layer", "batch", "none")),
                         ("encoder", ("deterministic", "gaussian")),
                         ("prior", ("gaussian", "mixture"))):
        if key in opts and opts[key] not in allowed:
            raise ConfigError(f"model.options.{key}: {opts[key]!r} is not allowed; choose from {list(allowed)}")
    for key in ("critic_units", "critic_depth"):
        if key in opts and (isinstance(opts[key], bool) or not isinstance(opts[key], int) or opts[key] < 1):
            raise ConfigError(f"model.options.{key}: expected an int >= 1, got {opts[key]!r}")
    mixture = opts.get("prior") == "mixture"
    if mixture and cfg.model.num_classes <= 0:
        raise ConfigError("model.num_classes: the mixture prior has one Gaussian per class; set the number of "
                          "classes (10 for MNIST)")
    if mixture and cfg.model.latent_dim < 2:
        raise ConfigError("model.latent_dim: the mixture prior places its Gaussians in the first two code "
                          f"dimensions; need >= 2, got {cfg.model.latent_dim}")
    if cfg.model.num_classes and not mixture:
        raise ConfigError(f"model.num_classes: {family} learns without labels; set it to 0 (or, for aae, "
                          "model.options.prior = 'mixture')")
    if opts["nets"] == "dcgan":
        check_upsampling_resolution(cfg, "the DCGAN encoder/decoder", "; use model.options.nets = 'mlp'")
    return opts


def autoencoder_baseline(family: str):
    """`eval.baselines` entry `family` (ae, vae) of an autoencoder: (cfg -> (description, overrides)), the same
    encoder/decoder builders and cost as the config's model, without its prior term."""
    what = {"ae": "the same encoder/decoder trained on the reconstruction cost only (no prior)",
            "vae": "the same nets as a VAE (Gaussian encoder, reconstruction cost + KL to N(0, I))"}[family]

    def overrides(cfg) -> tuple[str, dict]:
        kept = {k: v for k, v in cfg.model.options.items() if k in AUTOENCODER_OPTIONS[family]}
        return what, {"model.name": family, "model.options": kept, "model.num_classes": 0}

    return overrides


#: progan's options and their defaults (`kgan.models.progan`); widths: model.width feature maps at the target
#: resolution, doubling per halving up to max_width; the schedule is train.phases (`kgan.models.growth`)
PROGAN_OPTIONS = {"max_width": 256, "stddev_group": 4, "drift": 1e-3}


def progan_options(cfg) -> dict:
    """progan's `model.options` with defaults, validated, and its growth schedule checked."""
    from kgan.models.growth import check_schedule

    opts = with_defaults(cfg, PROGAN_OPTIONS, "progan")
    for key, low in (("max_width", 1), ("stddev_group", 0)):
        if isinstance(opts[key], bool) or not isinstance(opts[key], int) or opts[key] < low:
            raise ConfigError(f"model.options.{key}: expected an int >= {low}, got {opts[key]!r}")
    check_non_negative(opts, ("drift",))
    if cfg.model.num_classes:
        raise ConfigError("model.num_classes: progan is unconditional; set model.num_classes = 0")
    if cfg.train.feature_matching:
        raise ConfigError("train.feature_matching: progan's critic has no feature-matching layer; set it to 0")
    check_schedule(cfg)
    return opts
