"""Experiment config: one TOML file, typed sections, strict validation.

Each section is a frozen dataclass. Field metadata carries the allowed range or choices so that
validation errors can name the key path (`train.d_lr`) and what was expected, before any heavy
work starts. Unknown keys are rejected (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgan import names
from kgan.errors import ConfigError
from kgan.metrics.registry import MetricNames  # lazy: imports no metric until validation


def _opt(default, *, choices=None, min=None, max=None, doc=""):
    return field(default=default, metadata={"choices": choices, "min": min, "max": max, "doc": doc})


def _list(default, *, choices=None, doc=""):
    return field(default_factory=lambda: list(default), metadata={"choices": choices, "doc": doc})


LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")


@dataclass(frozen=True)
class DataConfig:
    source: str = _opt("mnist", doc="mnist | idx:PATH | folder:PATH | tfds:NAME[:SPLIT] | npz:PATH | "
                                         "paired:DIR_A,DIR_B | unpaired:SOURCE_A,SOURCE_B (each side "
                                         "SOURCE or SOURCE+thick / +invert / +mnistm)")
    data_dir: str = _opt("", doc="TFDS data_dir for tfds: sources (empty = TFDS default)")
    resolution: int = _opt(28, min=4, max=1024, doc="output height = width")
    channels: int = _opt(1, choices=(1, 3), doc="output channels")
    resize: str = _opt("pad", choices=("pad", "resize", "crop", "none"),
                       doc="pad: centre-pad/crop to resolution; resize: bilinear; crop: a random R x R crop per "
                           "example and epoch, seeded (smaller images centre-padded first); none: must match")
    limit: int = _opt(0, min=0, doc="use only the first N examples (0 = all)")
    batch_size: int = _opt(64, min=1, max=65536, doc="global batch size")
    shuffle_buffer: int = _opt(10000, min=0, doc="0 disables shuffling")
    cache: bool = _opt(True, doc="cache decoded examples in memory when they fit in data.cache_mb (false = never)")
    cache_mb: int = _opt(1024, min=0, doc="the in-memory cache's limit: a data set whose decoded float32 examples "
                                          "take more streams from its shards every epoch")
    format: str = _opt("shards", choices=("shards", "source"),
                       doc="what PrepareDataset makes: shards (TFRecord shards of the model-ready examples) or "
                           "source (only the card; training reads the source in its own format, e.g. a tfds: "
                           "data set's own files)")
    shard_mb: int = _opt(128, min=1, max=65536, doc="target size of one prepared TFRecord shard in MB")
    encoding: str = _opt("png", choices=("png", "jpeg", "raw"),
                         doc="how prepared shards store images: png (lossless), jpeg (quality 95, lossy), raw uint8")
    on_error: str = _opt("fail", choices=("fail", "skip"),
                         doc="a folder: file that cannot be decoded (or has the wrong size with resize = 'none') "
                             "fails the preparation naming it, or is skipped (named in the log, counted in the card)")
    transform: str = _opt("", doc="paired source/target features made from the images: mask[:box|half], "
                                  "downsample:K[:area|bicubic|gaussian], edges, blur:S, blur:gaussian:S, "
                                  "blur:motion[:L], blur:trajectory[:L], colorize, label_map:K (empty = none); "
                                  "downsample and blur take +noise:S and +jpeg:Q")
    holdout: float = _opt(0.0, min=0.0, max=0.5, doc="the last fraction of the examples is never trained on; "
                                                      "evaluation and galleries of data-fed models use it")
    captions: str = _opt("", doc="the text feature: file (captions.jsonl / captions.csv beside the source) | "
                                 "file:PATH | attributes (generated for digits from measured thickness, slant, "
                                 "size) | empty = none")

    def one_pass(self, **changes) -> "DataConfig":
        """This section read once, every example in the source's order (batch 1, no shuffle, cache or holdout):
        how preparation and the per-source caption measurement read it."""
        return dataclasses.replace(self, batch_size=1, shuffle_buffer=0, cache=False, holdout=0.0, **changes)


@dataclass(frozen=True)
class ModelConfig:
    name: str = _opt("dcgan", doc="registry name, see `kgan models`")
    latent_dim: int = _opt(64, min=1, max=4096, doc="size of z")
    width: int = _opt(64, min=1, max=4096, doc="base number of filters / hidden units")
    loss: str = _opt("auto", choices=("auto",) + LOSSES,
                     doc="adversarial loss; auto = the model's own (e.g. least_squares for lsgan)")
    norm: str = _opt("auto", choices=("auto", "batch", "layer", "none"),
                     doc="critic normalization; auto picks what the model's paper uses")
    num_classes: int = _opt(0, min=0, doc="0 = unconditional; conditional models need > 0")
    options: dict = field(default_factory=dict, metadata={"doc": "model-specific options"})


@dataclass(frozen=True)
class TrainConfig:
    steps: int = _opt(2000, min=1, doc="generator updates")
    n_critic: int = _opt(1, min=1, max=100, doc="discriminator updates per generator update")
    update: str = _opt("alternating", choices=("alternating", "simultaneous"),
                       doc="alternating: G's loss through the updated D; simultaneous: through D's pre-update "
                           "pass (the TF DCGAN tutorial's scheme, one D pass fewer; needs n_critic = 1)")
    optimizer: str = _opt("adam", choices=("adam", "rmsprop"), doc="optimizer of every group")
    g_lr: float = _opt(2e-4, min=0.0, max=1.0, doc="learning rate of the generator side")
    d_lr: float = _opt(2e-4, min=0.0, max=1.0, doc="learning rate of the critics (TTUR when it differs from g_lr)")
    beta1: float = _opt(0.5, min=0.0, max=1.0, doc="Adam beta1, in [0, 1)")
    beta2: float = _opt(0.999, min=0.0, max=1.0, doc="Adam beta2, in [0, 1)")
    gradient_penalty: float = _opt(0.0, min=0.0, doc="WGAN-GP lambda (10 in the paper)")
    r1: float = _opt(0.0, min=0.0, doc="R1 penalty gamma on real data")
    r1_every: int = _opt(1, min=1, doc="lazy regularization: R1 every N steps, scaled by N (StyleGAN2: 16)")
    clip_value: float = _opt(0.0, min=0.0, doc="WGAN weight clipping c (0.01 in the paper)")
    label_smoothing: float = _opt(0.0, min=0.0, max=0.5, doc="one-sided: real target = 1 - s")
    label_noise: float = _opt(0.0, min=0.0, max=0.5, doc="uniform noise on both targets")
    feature_matching: float = _opt(0.0, min=0.0, doc="weight of the feature-matching G loss")
    ema: float = _opt(0.999, min=0.0, max=1.0, doc="generator EMA decay (0 disables)")
    augment: str = _opt("", doc="augmentation of every critic input, real and fake (kgan.augment.policy): '' = none; "
                                "diffaugment[:OPS] (color,translation,cutout); ada[:OPS] "
                                "(xflip,rotate90,translation,scale,color); OPS default to all")
    ada_target: float = _opt(0.6, min=0.0, max=1.0, doc="ADA: the target of r_t = E[sign(D(real))] (the paper: 0.6)")
    ada_interval: int = _opt(4, min=1, doc="ADA: steps between adjustments of p (the paper: 4)")
    ada_images: int = _opt(500_000, min=1, doc="ADA: real images over which p can move by 1 (the paper: 500k; "
                                               "short runs need fewer, e.g. 20000)")
    jit_compile: bool = _opt(False, doc="XLA-compile the training step (GPUs; slower on small CPUs)")
    steps_per_execution: int = _opt(1, min=1, max=10000, doc="training steps per host round trip")
    checkpoint_every: int = _opt(500, min=1, doc="steps between checkpoints")
    keep_checkpoints: int = _opt(3, min=1, doc="newest checkpoints kept")
    snapshot_every: int = _opt(250, min=1, doc="steps between fixed-z sample snapshots")
    log_every: int = _opt(50, min=1, doc="steps between history rows and progress lines")
    nan_patience: int = _opt(3, min=1, doc="non-finite steps before restoring a checkpoint")
    divergence_lr_factor: float = _opt(0.5, min=0.0, max=1.0, doc="lr multiplier after a restore")
    max_restores: int = _opt(5, min=0, doc="divergence restores before training stops with an error")
    mixed_precision: str = _opt("", choices=("", "mixed_float16", "mixed_bfloat16"), doc="Keras precision policy (empty = float32)")
    allow_emulated_bfloat16: bool = _opt(False, doc="run mixed_bfloat16 on a CPU without native bf16 kernels "
                                                    "(AVX512_BF16/AMX), where it is emulated and slow; refused otherwise")
    strategy: str = _opt("auto", choices=("auto", "default", "mirrored", "multi_worker"), doc="distribution; auto: from TF_CONFIG and the devices")
    workers: int = _opt(2, min=1, max=1024, doc="multi_worker: worker processes the pipeline's TrainGAN launches")
    launcher: str = _opt("", doc="multi_worker: shell command template per worker for a cluster's launcher "
                                 "({command}, {index}, {workers}, {tf_config}); empty = local processes")
    phases: list = _list((), doc="[[train.phases]] tables run in order: name, steps, g_lr, d_lr, "
                                 "lr = {group = rate}, terms = {term = weight (0 = off)}, resolution, "
                                 "decay ('linear': rates fall to 0 at the phase's end), fade (growing models: "
                                 "the phase's new resolution fades in, alpha 0 -> 1)")


@dataclass(frozen=True)
class EvalConfig:
    features: str = _opt("classifier", choices=("classifier", "inception"), doc="feature space of FID/KID/PR")
    inception_handle: str = _opt("", doc="tensorflow-hub handle (URL or local dir) for inception")
    num_samples: int = _opt(10000, min=10, doc="generated samples per evaluation")
    metrics: list = _list(("fid", "is", "kid", "pr", "coverage"), choices=MetricNames(),
                          doc="kgan.metrics.registry names; pr = improved precision/recall, "
                              "coverage = class-histogram mode coverage")
    baselines: list = _list((), doc="baselines the pipeline also trains and evaluates on the same held-out "
                                    "data, shown as reference columns; pix2pix: l1_only (no discriminator); "
                                    "srgan/deblurgan: pixel_only, adversarial_weight:W (W >= 0)")
    classifier_epochs: int = _opt(3, min=1, doc="epochs of the evaluation classifier")
    classifier_seed: int = _opt(0, min=0, doc="seed of the evaluation classifier (part of its identity: a perceptual "
                                              "loss's classifier:PATH is one trained with another seed)")
    history_every: int = _opt(1000, min=0, doc="steps between metric-history points during training (0 = off)")
    history_samples: int = _opt(1000, min=10, doc="samples per metric-history point (a trend, not the score)")


@dataclass(frozen=True)
class ExportConfig:
    base: str = _opt("saved_models", doc="TF Serving model_base_path root")
    name: str = _opt("", doc="served model name (default: experiment name)")
    warmup_requests: int = _opt(1, min=0, max=100, doc="TF Serving warm-up requests written with the export")


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = _opt("experiment", doc="experiment name; also the default export name")
    seed: int = _opt(0, min=0, max=2**32 - 1, doc="seeds data order, noise and weights (32 bits, as numpy takes)")
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    export: ExportConfig = field(default_factory=ExportConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def section_hash(self, *keys: str) -> str:
        """Stable digest of the named sections or dotted keys (plus the seed): a pipeline stage's identity.

        Keys are sorted so that the digest depends on content, never on key order in the file.
        """
        d = self.to_dict()
        payload = {}
        for key in keys:
            node = d
            for part in key.split("."):
                node = node[part]
            payload[key] = node
        payload["seed"] = self.seed
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def replace(self, **overrides: Any) -> "ExperimentConfig":
        """Apply dotted overrides such as {"train.steps": 10}, validated like the file."""
        d = self.to_dict()
        for dotted, value in overrides.items():
            *parents, leaf = dotted.split(".")
            node = d
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = value
        return from_dict(d)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp))


def _check_value(path: str, f: dataclasses.Field, value: Any, tp) -> Any:
    meta = f.metadata
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):  # NaN passes every range check
        raise ConfigError(f"{path}: {value!r} is not finite; expected a number")
    if tp in (int, float, str, bool, list, dict):
        ok = isinstance(value, tp) and not (tp in (int, float) and isinstance(value, bool))
        if not ok:
            raise ConfigError(f"{path}: expected {_type_name(tp)}, got {type(value).__name__} {value!r}")
    choices = meta.get("choices")
    if choices is not None:
        items = value if isinstance(value, list) else [value]
        bad = [v for v in items if v not in choices]
        if bad:
            raise ConfigError(f"{path}: {bad[0]!r} is not allowed; choose from {list(choices)}")
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and value < lo:
        raise ConfigError(f"{path}: {value!r} is below the minimum {lo}")
    if hi is not None and value > hi:
        raise ConfigError(f"{path}: {value!r} is above the maximum {hi}")
    return value


def _build(cls, raw: Any, path: str):
    if not isinstance(raw, dict):
        raise ConfigError(f"{path or 'config'}: expected a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        where = f"{path}.{unknown[0]}" if path else unknown[0]
        raise ConfigError(f"{where}: unknown key; allowed keys are {sorted(fields)}")
    kwargs = {}
    for name, value in raw.items():
        key = f"{path}.{name}" if path else name
        tp = hints[name]
        if dataclasses.is_dataclass(tp):
            kwargs[name] = _build(tp, value, key)
        else:
            kwargs[name] = _check_value(key, fields[name], value, tp)
    return cls(**kwargs)


def from_dict(raw: dict) -> ExperimentConfig:
    cfg = _build(ExperimentConfig, raw, "")
    _check_names_and_betas(cfg)
    _check_cross_fields(cfg)
    return cfg


def _check_names_and_betas(cfg: ExperimentConfig) -> None:
    """Values that pass the type and range checks yet would write elsewhere or diverge at once."""
    for key, value in (("name", cfg.name), ("export.name", cfg.export.name or cfg.name)):
        if not names.is_valid_name(value):
            raise ConfigError(f"{key}: {value!r} is not a valid name; expected {names.RULE}")
    for key in ("beta1", "beta2"):
        if not getattr(cfg.train, key) < 1.0:
            raise ConfigError(f"train.{key}: {getattr(cfg.train, key)!r} is not below 1; expected [0, 1)")


_PHASE_KEYS = {"name": str, "steps": int, "g_lr": float, "d_lr": float, "lr": dict, "terms": dict,
               "resolution": int, "decay": str, "fade": bool}
PHASE_DECAYS = ("", "linear")


def _check_phases(cfg: ExperimentConfig) -> None:
    """Each phase table's keys and values; with phases, train.steps is their sum."""
    phases = cfg.train.phases
    for i, phase in enumerate(phases):
        where = f"train.phases[{i}]"
        if not isinstance(phase, dict):
            raise ConfigError(f"{where}: expected a table ([[train.phases]]), got {type(phase).__name__}")
        unknown = sorted(set(phase) - set(_PHASE_KEYS))
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]}: unknown key; allowed keys are {sorted(_PHASE_KEYS)}")
        if "steps" not in phase:
            raise ConfigError(f"{where}.steps: required (the phase's number of steps)")
        for key, value in phase.items():
            tp = _PHASE_KEYS[key]
            ok = isinstance(value, (int, float) if tp is float else tp) and (tp is bool or not isinstance(value, bool))
            if not ok:
                raise ConfigError(f"{where}.{key}: expected {tp.__name__}, got {type(value).__name__} {value!r}")
        if phase.get("decay", "") not in PHASE_DECAYS:
            raise ConfigError(f"{where}.decay: {phase['decay']!r} is not allowed; choose from {list(PHASE_DECAYS)} "
                              "(linear: the phase's rates fall to 0 at its end)")
        if phase["steps"] < 1 or phase.get("resolution", 4) < 4:
            raise ConfigError(f"{where}: steps must be >= 1 and resolution >= 4")
        rates = {**{k: phase[k] for k in ("g_lr", "d_lr") if k in phase}, **phase.get("lr", {})}
        for key, rate in rates.items():
            if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
                raise ConfigError(f"{where}: learning rate {key} = {rate!r} must be a number in [0, 1]")
        for term, weight in phase.get("terms", {}).items():
            if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
                raise ConfigError(f"{where}.terms.{term}: expected a weight >= 0 (0 switches it off), got {weight!r}")
    total = sum(p["steps"] for p in phases)
    if phases and total != cfg.train.steps:
        raise ConfigError(f"train.steps: {cfg.train.steps}, but the phases add up to {total}; set train.steps = {total}")


def _check_cross_fields(cfg: ExperimentConfig) -> None:
    from kgan.augment import policy as augment_policy  # TensorFlow-free
    from kgan.data import captions, pairs  # TensorFlow-free
    from kgan.models import registry  # TensorFlow-free

    if not registry.is_plugin(cfg.model.name) and cfg.model.name not in registry.model_names():
        raise ConfigError(f"model.name: unknown model {cfg.model.name!r}; choose from {registry.model_names()} "
                          "or name your own class as package.module:ClassName")
    if cfg.eval.features == "inception" and not cfg.eval.inception_handle:
        raise ConfigError("eval.inception_handle: required when eval.features = 'inception'")
    pairs.check(cfg.data)
    augment_policy.check(cfg.train)
    captions.check(cfg.data)
    _check_phases(cfg)
    registry.validate(cfg)


SHIPPED = Path(__file__).with_name("pipelines")  # the configs that ship with kgan (package data)


def shipped_configs() -> list[str]:
    return sorted(p.stem for p in SHIPPED.glob("*.toml"))


def resolve_config_path(path: str | Path) -> Path:
    """A config file path, or the name of a shipped config (`mnist_dcgan`) when no such file exists."""
    path = Path(path)
    if not path.exists() and path.suffix == "" and (SHIPPED / f"{path.name}.toml").is_file():
        return SHIPPED / f"{path.name}.toml"
    return path


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment file (or a shipped config by name); errors name the file and key."""
    path = resolve_config_path(path)
    if path.is_dir():
        raise ConfigError(f"{path}: is a directory; expected a TOML config file")
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(_read_text(path))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    if not raw:
        raise ConfigError(f"{path}: config file is empty (no keys); write at least name = \"...\" "
                          "(see `kgan config keys`)")
    try:
        return from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def _read_text(path: Path) -> str:
    """The file as UTF-8 text; ConfigError for an unreadable, binary or non-UTF-8 file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config file ({e.strerror})") from None
    if b"\0" in data:
        raise ConfigError(f"{path}: binary file (contains NUL bytes); expected a TOML config file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
                          "expected a TOML config file") from None


def dump_toml(cfg: ExperimentConfig) -> str:
    """Serialize a config back to TOML (used to record the resolved config in a run directory)."""
    d = cfg.to_dict()
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for section, values in d.items():
        if isinstance(values, dict) and dataclasses.is_dataclass(getattr(cfg, section)):
            lines.append(f"\n[{section}]")
            lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def describe() -> str:
    """Every key as valid TOML: its default, then a comment with its meaning and allowed values.

    `model.options` depend on the model; they are listed as comments after `[model]` (kgan.models.options).
    """
    from kgan.models.options import describe_options

    def comment(f: dataclasses.Field) -> str:
        meta = f.metadata
        parts = [meta.get("doc", "")]
        if meta.get("choices"):
            parts.append("one of " + ", ".join(json.dumps(c) for c in meta["choices"]))
        bounds = [f">= {meta['min']}" if meta.get("min") is not None else "",
                  f"<= {meta['max']}" if meta.get("max") is not None else ""]
        parts.append(" and ".join(b for b in bounds if b))
        text = "; ".join(p for p in parts if p)
        return f"  # {text}" if text else ""

    def line(f: dataclasses.Field) -> str:
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        return f"{f.name} = {_toml_value(default)}{comment(f)}"

    hints = typing.get_type_hints(ExperimentConfig)
    out = ["# kgan experiment config: every key with its default (kgan config keys)"]
    out += [line(f) for f in dataclasses.fields(ExperimentConfig) if not dataclasses.is_dataclass(hints[f.name])]
    for section in dataclasses.fields(ExperimentConfig):
        cls = hints[section.name]
        if not dataclasses.is_dataclass(cls):
            continue
        out += ["", f"[{section.name}]"] + [line(f) for f in dataclasses.fields(cls)]
        if section.name == "model":
            out += ["# model.options (a table; which keys a model takes, with defaults):"]
            out += [f"#   {entry}" for entry in describe_options()]
        if section.name == "train":
            out += ["# [[train.phases]] tables: " + ", ".join(f"{k} ({v.__name__})" for k, v in _PHASE_KEYS.items())]
    return "\n".join(out)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(v)
