"""stylegan's `model.options`: defaults, meanings and validation (TensorFlow-free, run at config load)."""

from __future__ import annotations

from kgan.errors import ConfigError
from kgan.models.options import check_non_negative, with_defaults

STYLEGAN_OPTIONS = {"styles": "adain", "mapping_layers": 8, "w_dim": None, "mapping_lr_multiplier": 0.01,
                    "style_mixing": 0.9, "w_avg_decay": 0.995, "truncation_cutoff": None, "r1_gamma": "auto",
                    "r1_every": 16, "path_length": 0.0, "path_length_every": 4, "max_channels": 512,
                    "progressive": False}
DOCS = {
    "styles": "adain (StyleGAN: instance norm, then a per-channel scale and bias from w) | modulated (StyleGAN2: "
              "modulated/demodulated convolutions, skip to-RGB outputs)",
    "mapping_layers": "dense layers of the mapping network z -> w (the paper: 8)",
    "w_dim": "size of w (default: model.latent_dim)",
    "mapping_lr_multiplier": "learning-rate multiplier of the mapping network (the paper: 0.01)",
    "style_mixing": "probability that a batch mixes two latents' styles at a random crossover layer (0.9)",
    "w_avg_decay": "EMA decay of the tracked average w, the truncation centre (0.995)",
    "truncation_cutoff": "truncate only the first N style layers (the coarse ones; default: all)",
    "r1_gamma": "R1 gamma; auto = 0.0002 * resolution^2 / batch size (StyleGAN2-ADA's heuristic)",
    "r1_every": "lazy R1: every N steps, scaled by N (the paper: 16)",
    "path_length": "weight of path-length regularization (StyleGAN2: 2; 0 = off)",
    "path_length_every": "lazy path-length regularization: every N steps (StyleGAN2: 4)",
    "max_channels": "feature maps at most (the width doubles per halving of the resolution)",
    "progressive": "grow 4x4 -> data.resolution by train.phases (resolution, fade = true on every doubling; "
                   "ProGAN's schedule and discriminator); false: fixed-resolution training",
}


def describe_stylegan_options() -> list[str]:
    from kgan.config import _toml_value

    return ["stylegan:"] + [f"  {k} = {'(unset)' if v is None else _toml_value(v)}  # {DOCS[k]}"
                            for k, v in STYLEGAN_OPTIONS.items()]


def _int_in(opts, key, low, high, allow_none=False):
    value = opts[key]
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"model.options.{key}: expected an int in {low}..{high}, got {value!r}")


def stylegan_options(cfg) -> dict:
    """The options with defaults, validated, and what stylegan needs of the rest of the config."""
    opts = with_defaults(cfg, STYLEGAN_OPTIONS, "stylegan")
    r = cfg.data.resolution
    if r < 8 or r & (r - 1):
        raise ConfigError(f"data.resolution: stylegan grows from 4x4 by doubling; {r} is not a power of two >= 8 "
                          "(pad MNIST to 32 with data.resize = 'pad')")
    if opts["styles"] not in ("adain", "modulated"):
        raise ConfigError(f"model.options.styles: {opts['styles']!r} is not allowed; choose from ['adain', 'modulated']")
    layers = 2 * (r.bit_length() - 1) - 2
    _int_in(opts, "mapping_layers", 1, 16)
    _int_in(opts, "w_dim", 1, 4096, allow_none=True)
    _int_in(opts, "truncation_cutoff", 1, layers, allow_none=True)
    _int_in(opts, "r1_every", 1, 1000)
    _int_in(opts, "path_length_every", 1, 1000)
    _int_in(opts, "max_channels", 1, 4096)
    check_non_negative(opts, ("mapping_lr_multiplier", "path_length"))
    for key in ("style_mixing", "w_avg_decay"):
        value = opts[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(f"model.options.{key}: expected a number in [0, 1], got {value!r}")
    if opts["mapping_lr_multiplier"] == 0:
        raise ConfigError("model.options.mapping_lr_multiplier: expected a number > 0, got 0")
    if opts["r1_gamma"] != "auto":
        check_non_negative(opts, ("r1_gamma",))
    if cfg.train.r1 or cfg.train.r1_every != 1:
        raise ConfigError("train.r1: stylegan's R1 is model.options.r1_gamma (default auto, by resolution) and "
                          "model.options.r1_every (16); leave train.r1 and train.r1_every unset")
    if cfg.train.feature_matching:
        raise ConfigError("train.feature_matching: stylegan's discriminator has no features layer to match")
    if cfg.model.num_classes:
        raise ConfigError("model.num_classes: stylegan is unconditional; set model.num_classes = 0")
    if not isinstance(opts["progressive"], bool):
        raise ConfigError(f"model.options.progressive: expected true or false, got {opts['progressive']!r}")
    if opts["progressive"]:
        from kgan.models.growth import check_schedule

        check_schedule(cfg)
        return opts
    for i, phase in enumerate(cfg.train.phases):
        if phase.get("fade") or ("resolution" in phase and phase["resolution"] != r):
            raise ConfigError(f"train.phases[{i}].resolution: stylegan trains at data.resolution = {r} unless "
                              "model.options.progressive = true")
    return opts


def r1_gamma(cfg, opts: dict) -> float:
    """The R1 gamma: the option, or auto = 0.0002 R^2 / batch (StyleGAN2-ADA's heuristic: ~10 at 1024 px)."""
    if opts["r1_gamma"] != "auto":
        return float(opts["r1_gamma"])
    return 0.0002 * cfg.data.resolution ** 2 / cfg.data.batch_size
