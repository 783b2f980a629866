"""Model registry: name -> builder. Every entry builds a `GAN` (or subclass) from an experiment config.

A family's defining choices (the loss of LSGAN, the critic normalization of WGAN-GP) are the
entry's defaults, used when the config says `auto`; settings a family cannot work without (weight
clipping for WGAN, the gradient penalty for WGAN-GP) are checked, naming the config key.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

from kgan.errors import ConfigError

NETS = {  # nets family -> (module, generator builder, discriminator builder)
    "mlp": ("kgan.nets.mlp", "mlp_generator", "mlp_discriminator"),
    "dcgan": ("kgan.nets.dcgan", "dcgan_generator", "dcgan_discriminator"),
}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    nets: str
    loss: str
    norm: str = "batch"
    requires: dict = field(default_factory=dict)  # train key -> (predicate, message)
    model_class: Callable | None = None
    # (cfg, spec, image_shape, norm) -> (generator, discriminator, extra model kwargs): conditioning,
    # auxiliary heads and discriminator tricks (kgan.models.conditional); also used for any model whose
    # config sets model.options
    customize: Callable | None = None
    # Families beyond z -> image: "module:Class" with from_experiment(cfg), and a TensorFlow-free check(cfg)
    factory: str | None = None
    check: Callable | None = None
    # eval.baselines this family offers: name -> (what it is, dotted config overrides that make it), or a function
    # of the config giving them
    baselines: dict = field(default_factory=dict)
    # eval.baselines named `KEY:VALUE` (a sweep of one setting): KEY -> (what VALUE is, VALUE text -> (what it
    # is, overrides), raising a ConfigError for a bad value)
    parameterised_baselines: dict = field(default_factory=dict)
    # cfg -> the files of networks the family's loss reads (a perceptual loss's classifier): evaluation must
    # not score with them (`check_evaluation_network`)
    loss_files: Callable | None = None


def _positive(v):
    return v > 0


def _options(attr):
    def call(*args, **kwargs):
        from kgan.models import options
        return getattr(options, attr)(*args, **kwargs)
    return call


def _stylegan_check(cfg):
    from kgan.models.stylegan_options import stylegan_options
    stylegan_options(cfg)


def _conditional(attr):
    """A lazy reference into kgan.models.conditional (which imports keras)."""
    def call(*args, **kwargs):
        from kgan.models import conditional
        return getattr(conditional, attr)(*args, **kwargs)
    return call


#: the restoration families' reference point: the same generator, no critic and no perceptual term, for the
#: same number of steps without phases (they schedule terms it does not have)
_PIXEL_ONLY = ("the same generator trained with the pixel loss only (no discriminator, no perceptual term)",
               {"model.options.adversarial_weight": 0, "model.options.perceptual_weight": 0,
                "model.options.pixel_weight": 1.0, "train.phases": []})

_PLAIN_NUMBER = re.compile(r"[0-9]+(\.[0-9]+)?([eE]-?[0-9]+)?\Z")


def _adversarial_weight(text: str) -> tuple[str, dict]:
    """`adversarial_weight:W`: the same model with the adversarial term weighted W (EPSR's sweep along the
    perception-distortion trade-off). W = 0 builds no critic: `pixel_only` with the perceptual term kept, and
    without phases (they schedule terms it does not have)."""
    if not _PLAIN_NUMBER.match(text) or not math.isfinite(float(text)):  # plain: the experiment name stays valid
        raise ConfigError(f"eval.baselines: 'adversarial_weight:{text}' needs a number >= 0 after the colon "
                          "(e.g. adversarial_weight:0.01)")
    weight = float(text)
    if weight == 0:
        return ("the same generator with its pixel and perceptual terms, no discriminator (adversarial weight 0)",
                {"model.options.adversarial_weight": 0, "train.phases": []})
    return (f"the same model with adversarial weight {weight:g}", {"model.options.adversarial_weight": weight})


_ADVERSARIAL_SWEEP = {"adversarial_weight": ("W >= 0", _adversarial_weight)}


def _codec_baseline(family: str):
    """An autoencoder's `ae` / `vae` baseline: overrides that keep the config's encoder/decoder options."""
    def call(cfg):
        from kgan.models.options import autoencoder_baseline
        return autoencoder_baseline(family)(cfg)
    return call


def _autoencoder(name: str, description: str, baselines=("ae", "vae")) -> ModelSpec:
    """An autoencoder family (`kgan.models.autoencoder`); `ae` and `vae` are the others' reference points."""
    return ModelSpec(name, description, nets="dcgan", loss="non_saturating",
                     factory="kgan.models.autoencoder:Autoencoder", check=_options("autoencoder_options"),
                     baselines={b: _codec_baseline(b) for b in baselines})


def _text_gan_options(cfg):
    from kgan.models.text_options import text_gan_options
    return text_gan_options(cfg)


_SPECS = {s.name: s for s in [
    ModelSpec("gan", "Goodfellow et al. 2014: MLP generator/discriminator of the seeds (non-saturating loss; "
              "model.loss = 'minimax' for the original objective)", nets="mlp", loss="non_saturating", norm="none"),
    ModelSpec("dcgan", "Radford et al. 2016: strided/transposed convolutions, batchnorm, ReLU/LeakyReLU, tanh",
              nets="dcgan", loss="non_saturating"),
    ModelSpec("lsgan", "Mao et al. 2017: DCGAN nets with the least-squares loss (a=0, b=c=1)",
              nets="dcgan", loss="least_squares"),
    ModelSpec("wgan", "Arjovsky et al. 2017: Wasserstein critic with weight clipping (c=0.01, RMSProp 5e-5, "
              "n_critic=5)", nets="dcgan", loss="wasserstein",
              requires={"clip_value": (_positive, "wgan needs weight clipping: set train.clip_value (paper: 0.01)")}),
    ModelSpec("wgan_gp", "Gulrajani et al. 2017: Wasserstein critic with gradient penalty (lambda=10), layer norm "
              "instead of batchnorm in the critic", nets="dcgan", loss="wasserstein", norm="layer",
              requires={"gradient_penalty": (_positive,
                                             "wgan_gp needs train.gradient_penalty > 0 (paper: lambda = 10)")}),
    ModelSpec("cgan", "Mirza & Osindero 2014: the class label fed to G and D (model.options.conditioning = "
              "concat | embedding | projection; model.options.nets = mlp | dcgan); needs model.num_classes",
              nets="dcgan", loss="non_saturating", model_class=_conditional("CGAN"),
              customize=_conditional("customize")),
    ModelSpec("acgan", "Odena et al. 2017: class-conditional G; D with an auxiliary classifier head "
              "(cross-entropy on real and fake, model.options.aux_weight); needs model.num_classes",
              nets="dcgan", loss="non_saturating", model_class=_conditional("ACGAN"),
              customize=_conditional("customize")),
    ModelSpec("infogan", "Chen et al. 2016: categorical + continuous latent codes, a Q head on D maximizing "
              "the mutual-information bound (model.options.categorical/continuous); no labels",
              nets="dcgan", loss="non_saturating", model_class=_conditional("InfoGAN"),
              customize=_conditional("customize")),
    ModelSpec("pix2pix", "Isola et al. 2017: paired image-to-image translation; U-Net generator (dropout as the noise, "
              "kept at inference), PatchGAN critic on (source, image), BCE + lambda L1 (100), D loss halved; "
              "needs data.transform", nets="unet", loss="non_saturating",
              factory="kgan.models.pix2pix:Pix2Pix", check=_options("pix2pix_options"),
              baselines={"l1_only": ("the same U-Net trained with L1 only (no discriminator)",
                                     {"model.options.adversarial_weight": 0})}),
    ModelSpec("srgan", "Ledig et al. 2017 / EPSR (Vasu et al. 2018): super-resolution; residual generator "
              "(no batchnorm by default, as EDSR/EPSR) with sub-pixel upsampling x2/4/8, a conv classifier on the "
              "high-res image; pixel (MSE) + perceptual + 1e-3 adversarial terms; pretrain with the pixel term "
              "in a first train.phases entry; needs data.transform = 'downsample:K'", nets="resnet",
              loss="non_saturating", norm="batch",
              factory="kgan.models.restoration:Restoration", check=_options("restoration_options"),
              baselines={"pixel_only": _PIXEL_ONLY}, parameterised_baselines=_ADVERSARIAL_SWEEP,
              loss_files=_options("perceptual_files")),
    ModelSpec("deblurgan", "Kupyn et al. 2018: deblurring; ResNet generator with a global skip (learns the "
              "residual to the blurred input), WGAN-GP critic (train.gradient_penalty = 10, train.n_critic = 5), "
              "perceptual content term (lambda 100); needs data.transform = 'blur:S'", nets="resnet",
              loss="wasserstein", norm="layer",
              requires={"gradient_penalty": (_positive,
                                             "deblurgan's critic is WGAN-GP's: set train.gradient_penalty > 0 "
                                             "(paper: lambda = 10)")},
              factory="kgan.models.restoration:Restoration", check=_options("restoration_options"),
              baselines={"pixel_only": _PIXEL_ONLY}, parameterised_baselines=_ADVERSARIAL_SWEEP,
              loss_files=_options("perceptual_files")),
    ModelSpec("progan", "Karras et al. 2018: progressive growing 4x4 -> data.resolution (train.phases with resolution "
              "and fade, alpha 0 -> 1), pixel norm in G, equalized learning rate, minibatch stddev, WGAN-GP "
              "(train.gradient_penalty = 10) with drift 0.001, generator EMA; paper: Adam 1e-3, betas (0, 0.99)",
              nets="progressive", loss="wasserstein", norm="none",
              requires={"gradient_penalty": (_positive, "progan's critic is WGAN-GP's: set train.gradient_penalty > 0 "
                                                        "(paper: lambda = 10)")},
              factory="kgan.models.progan:ProGAN", check=_options("progan_options")),
    ModelSpec("cyclegan", "Zhu et al. 2017: unpaired translation between two domains (data.source = "
              "'unpaired:SOURCE_A,SOURCE_B'); two ResNet generators, two instance-norm PatchGAN critics fed from "
              "a pool of 50 past fakes, least squares, cycle L1 (lambda 10) both ways, identity L1 (0.5 lambda); "
              "served a_to_b and b_to_a", nets="resnet", loss="least_squares",
              factory="kgan.models.cyclegan:CycleGAN", check=_options("cyclegan_options"),
              baselines={"no_cycle": ("the same model without the cycle (and identity) terms: the paper's GAN-alone "
                                      "ablation", {"model.options.cycle_weight": 0})}),
    _autoencoder("ae", "the plain autoencoder: encoder/decoder (DCGAN bodies) on the reconstruction cost only; "
                 "its codes follow no prior (a reference point)", baselines=()),
    _autoencoder("vae", "Kingma & Welling 2014: Gaussian encoder, reconstruction cost + KL(q(z|x) || N(0, I))",
                 baselines=("ae",)),
    _autoencoder("aae", "Makhzani et al. 2016: adversarial autoencoder; a latent critic tells prior draws (real) "
                 "from codes (fake); reconstruction phase then regularization phase per step; deterministic or "
                 "Gaussian encoder; model.options.prior = 'mixture' for the label-conditioned prior"),
    _autoencoder("wae_gan", "Tolstikhin et al. 2018, Algorithm 1: c = 0.05 ||x - y||^2 + lambda (10) x the latent "
                 "critic's loss on codes vs N(0, I) prior draws"),
    _autoencoder("wae_mmd", "Tolstikhin et al. 2018, Algorithm 2: c + lambda (10) x the unbiased MMD between codes "
                 "and prior draws, inverse multiquadratic kernel over 7 scales"),
    ModelSpec("text_gan", "Reed et al. 2016: text-to-image; a char-CNN-GRU text encoder (TextVectorization in the "
              "graph) conditions a DCGAN generator and a matching-aware discriminator (GAN-CLS); GAN-INT "
              "(model.options.interpolation) and conditioning augmentation (augmentation) as options; served with "
              "a string input; needs data.captions", nets="dcgan", loss="non_saturating",
              factory="kgan.models.text_gan:TextGAN", check=_text_gan_options,
              baselines={"cgan": (
                  "the class-conditional GAN (Mirza & Osindero): the same nets conditioned on the digit the caption "
                  "names only (no text model, a plain conditional discriminator), so it cannot follow attributes",
                  {"model.options.encoder": "digit", "model.options.mismatch_weight": 0,
                   "model.options.interpolation": 0, "model.options.augmentation": False,
                   "model.options.match_weight": 0, "train.phases": []})}),
    ModelSpec("stylegan", "Karras et al. 2019 (+ StyleGAN2's modulated convolutions: model.options.styles): mapping "
              "network z -> w, constant 4x4 input, per-layer noise and styles, style mixing, w_avg truncation in W, "
              "non-saturating loss with lazy R1; served with psi, a noise seed and a `mix` signature",
              nets="style", loss="non_saturating", norm="none", factory="kgan.models.stylegan:StyleGAN",
              check=_stylegan_check),
]}


def model_names() -> list[str]:
    return sorted(_SPECS)


def describe_models() -> list[tuple[str, str]]:
    return [(name, _SPECS[name].description) for name in model_names()]


def is_plugin(name: str) -> bool:
    """`package.module:ClassName` names a model class outside kgan (an `Engine` subclass with a
    `from_experiment(cfg)` classmethod); importing it may import TensorFlow."""
    return ":" in name


def plugin_class(name: str):
    import importlib

    module_name, _, attr = name.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"model.name: cannot import the model class {name!r} ({e})") from None
    if not hasattr(cls, "from_experiment"):
        raise ConfigError(f"model.name: {name!r} has no from_experiment(cfg) classmethod")
    return cls


def resolve(cfg) -> tuple[ModelSpec, str, str]:
    """(spec, loss, norm) for a config, with the family's defaults filled in and its needs checked."""
    if cfg.model.name not in _SPECS:
        raise ConfigError(f"model.name: unknown model {cfg.model.name!r}; choose from {model_names()}")
    spec = _SPECS[cfg.model.name]
    for key, (ok, message) in spec.requires.items():
        if not ok(getattr(cfg.train, key)):
            raise ConfigError(f"train.{key}: {message}")
    if cfg.train.update == "simultaneous" and cfg.train.n_critic != 1:
        raise ConfigError("train.update: 'simultaneous' needs train.n_critic = 1")
    loss = spec.loss if cfg.model.loss == "auto" else cfg.model.loss
    norm = spec.norm if cfg.model.norm == "auto" else cfg.model.norm
    if loss == "wasserstein" and norm == "batch" and cfg.train.gradient_penalty:
        raise ConfigError("model.norm: batchnorm in the critic invalidates the per-example gradient penalty; "
                          "use 'layer' or 'none'")
    return spec, loss, norm


def validate(cfg) -> None:
    """Everything about the model that can be checked from the config alone, without TensorFlow: the name,
    the family's required train keys, `model.options`, and phases that need a feature the model lacks."""
    if is_plugin(cfg.model.name):
        check = getattr(plugin_class(cfg.model.name), "validate_config", None)
        if check is not None:
            check(cfg)
        _check_baselines(cfg)
        return
    spec, _, _ = resolve(cfg)
    _check_baselines(cfg)
    if spec.check is not None:
        spec.check(cfg)
        return
    from kgan.models.options import parse_options

    family = spec.name if spec.customize is not None else None
    opts = parse_options(cfg, family, spec.nets)
    if opts["nets"] == "dcgan":
        from kgan.nets.plan import dcgan_resolutions, upsampling_plan

        try:
            upsampling_plan(cfg.data.resolution)
        except ValueError:
            allowed = ", ".join(map(str, dcgan_resolutions(256)))
            raise ConfigError(f"data.resolution: {cfg.data.resolution} is not possible for {cfg.model.name}'s "
                              f"convolutional nets; allowed: {allowed}, ... (a power-of-two multiple of 4..7)") \
                from None
    for i, phase in enumerate(cfg.train.phases):
        if phase.get("fade"):
            raise ConfigError(f"train.phases[{i}].fade: model {cfg.model.name!r} does not grow; nothing fades in")
        if "resolution" in phase and phase["resolution"] != cfg.data.resolution:
            raise ConfigError(f"train.phases[{i}].resolution: model {cfg.model.name!r} does not grow; "
                              f"its phases run at data.resolution = {cfg.data.resolution}")


def _family(cfg) -> ModelSpec | None:
    """The config's registry entry (none for a model outside kgan)."""
    return None if is_plugin(cfg.model.name) else _SPECS.get(cfg.model.name)


def _baseline(cfg, name: str) -> tuple[str, dict]:
    """(description, dotted overrides) of baseline `name` of the config's family: a fixed one, or `KEY:VALUE`
    of a parameterised one; a ConfigError naming `eval.baselines` for one the family does not offer."""
    spec = _family(cfg)
    fixed = spec.baselines if spec else {}
    swept = spec.parameterised_baselines if spec else {}
    if name in fixed:  # (description, overrides), or a function of the config that gives them
        return fixed[name](cfg) if callable(fixed[name]) else fixed[name]
    key, colon, value = name.partition(":")
    if colon and key in swept:
        return swept[key][1](value)
    offered = sorted(fixed) + [f"{k}:{what}" for k, (what, _) in sorted(swept.items())]
    raise ConfigError(f"eval.baselines: model {cfg.model.name!r} has no baseline {name!r}; "
                      f"it has {offered or 'none'}")


def _check_baselines(cfg) -> None:
    for name in cfg.eval.baselines:
        _baseline(cfg, name)


def check_evaluation_network(cfg, path) -> None:
    """Refuse to evaluate with a network the model's loss was trained against (the loss would grade itself):
    a ConfigError when the evaluation classifier at `path` is, byte for byte, one the family's loss reads."""
    import filecmp
    from pathlib import Path

    spec = _family(cfg)
    if spec is None or spec.loss_files is None or not Path(path).is_file():
        return
    for used in spec.loss_files(cfg):
        if Path(used).is_file() and filecmp.cmp(used, path, shallow=False):
            raise ConfigError(f"model.options.perceptual: {used} is also the evaluation classifier ({path}); "
                              "the loss would grade itself: give the loss a classifier trained with another seed "
                              "(kgan classifier DATA --seed N)")


def baseline_config(cfg, name: str):
    """(description, the experiment that trains baseline `name` of `cfg`): the family's overrides, its own
    experiment and export name (`NAME-BASELINE`, a parameterised baseline's colon as `-`:
    `NAME-adversarial_weight-0.01`), no baselines of its own. The pipeline runs it with the same stages, so
    it is trained and evaluated exactly like the model it is a baseline for."""
    description, overrides = _baseline(cfg, name)
    suffix = name.replace(":", "-")
    export_name = f"{cfg.export.name}-{suffix}" if cfg.export.name else ""
    return description, cfg.replace(**overrides, **{"name": f"{cfg.name}-{suffix}", "export.name": export_name,
                                                     "eval.baselines": []})


def build_gan(cfg, image_shape=None):
    """Build the (uncompiled) model for a config. `image_shape` defaults to the data section's."""
    import importlib

    from kgan.augment import policy as augment_policy
    from kgan.models.gan import GAN

    if is_plugin(cfg.model.name):
        return plugin_class(cfg.model.name).from_experiment(cfg)
    spec, loss, norm = resolve(cfg)
    if spec.factory is not None:
        return plugin_class(spec.factory).from_experiment(cfg)
    image_shape = tuple(image_shape or (cfg.data.resolution, cfg.data.resolution, cfg.data.channels))
    module, g_name, d_name = NETS[spec.nets]
    nets = importlib.import_module(module)
    classes = cfg.model.num_classes
    extra = {}
    if spec.customize is not None or cfg.model.options:  # conditioning, auxiliary heads, D tricks
        generator, discriminator, extra = (spec.customize or _conditional("customize"))(cfg, spec, image_shape, norm)
    else:
        generator = getattr(nets, g_name)(cfg.model.latent_dim, image_shape, num_classes=classes,
                                          width=cfg.model.width)
        d_kwargs = {"norm": norm} if spec.nets != "mlp" else {}
        discriminator = getattr(nets, d_name)(image_shape, num_classes=classes, width=cfg.model.width, **d_kwargs)
    t = cfg.train
    cls = spec.model_class or GAN
    return cls(generator, discriminator, latent_dim=cfg.model.latent_dim, image_shape=image_shape,
               num_classes=classes, loss=loss, n_critic=t.n_critic, gradient_penalty=t.gradient_penalty,
               r1=t.r1, r1_every=t.r1_every, clip_value=t.clip_value, label_smoothing=t.label_smoothing, label_noise=t.label_noise,
               feature_matching=t.feature_matching, ema=t.ema, seed=cfg.seed,
               simultaneous=t.update == "simultaneous", name=cfg.model.name, **augment_policy.engine_options(t),
               **extra)


def learning_rates(cfg, groups) -> dict:
    """Base learning rate per optimizer group: the last group (the generator side) takes train.g_lr, the critics
    train.d_lr (separate rates give TTUR)."""
    groups = list(groups)
    return {g: (cfg.train.g_lr if i == len(groups) - 1 else cfg.train.d_lr) for i, g in enumerate(groups)}


def make_optimizer(cfg, learning_rate: float):
    import keras

    t = cfg.train
    if t.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=learning_rate)
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=t.beta1, beta_2=t.beta2)


def optimizers_for(cfg, model) -> dict:
    """One optimizer per group of `model` (see `learning_rates`)."""
    return {g: make_optimizer(cfg, lr) for g, lr in learning_rates(cfg, model.GROUPS).items()}


def build_optimizers(cfg, lr_scale: float = 1.0):
    """(d_optimizer, g_optimizer) for a two-group GAN."""
    return make_optimizer(cfg, cfg.train.d_lr * lr_scale), make_optimizer(cfg, cfg.train.g_lr * lr_scale)
