"""Experiment config: one TOML file, typed sections, strict validation.

Each section is a frozen dataclass. Field metadata carries the allowed range or choices so that
validation errors can name the key path (`train.d_lr`) and what was expected, before any heavy
work starts. Unknown keys are rejected (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgan.errors import ConfigError
from kgan.metrics.registry import MetricNames  # lazy: imports no metric until validation


def _opt(default, *, choices=None, min=None, max=None, doc=""):
    return field(default=default, metadata={"choices": choices, "min": min, "max": max, "doc": doc})


def _list(default, *, choices=None, doc=""):
    return field(default_factory=lambda: list(default), metadata={"choices": choices, "doc": doc})


LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")


@dataclass(frozen=True)
class DataConfig:
    source: str = _opt("mnist", doc="mnist | idx:PATH | folder:PATH | tfds:NAME[:SPLIT] | npz:PATH")
    data_dir: str = _opt("", doc="TFDS data_dir for tfds: sources (empty = TFDS default)")
    resolution: int = _opt(28, min=4, max=1024, doc="output height = width")
    channels: int = _opt(1, choices=(1, 3), doc="output channels")
    resize: str = _opt("pad", choices=("pad", "resize", "none"),
                       doc="pad: centre-pad/crop to resolution; resize: bilinear; none: must match")
    limit: int = _opt(0, min=0, doc="use only the first N examples (0 = all)")
    batch_size: int = _opt(64, min=1, max=65536, doc="global batch size")
    shuffle_buffer: int = _opt(10000, min=0, doc="0 disables shuffling")
    cache: bool = _opt(True, doc="cache decoded examples in memory")


@dataclass(frozen=True)
class ModelConfig:
    name: str = _opt("dcgan", doc="registry name, see `kgan models`")
    latent_dim: int = _opt(64, min=1, max=4096)
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
    optimizer: str = _opt("adam", choices=("adam", "rmsprop"))
    g_lr: float = _opt(2e-4, min=0.0, max=1.0)
    d_lr: float = _opt(2e-4, min=0.0, max=1.0)
    beta1: float = _opt(0.5, min=0.0, max=1.0)
    beta2: float = _opt(0.999, min=0.0, max=1.0)
    gradient_penalty: float = _opt(0.0, min=0.0, doc="WGAN-GP lambda (10 in the paper)")
    r1: float = _opt(0.0, min=0.0, doc="R1 penalty gamma on real data")
    clip_value: float = _opt(0.0, min=0.0, doc="WGAN weight clipping c (0.01 in the paper)")
    label_smoothing: float = _opt(0.0, min=0.0, max=0.5, doc="one-sided: real target = 1 - s")
    label_noise: float = _opt(0.0, min=0.0, max=0.5, doc="uniform noise on both targets")
    feature_matching: float = _opt(0.0, min=0.0, doc="weight of the feature-matching G loss")
    ema: float = _opt(0.999, min=0.0, max=1.0, doc="generator EMA decay (0 disables)")
    jit_compile: bool = _opt(False)
    steps_per_execution: int = _opt(1, min=1, max=10000)
    checkpoint_every: int = _opt(500, min=1, doc="steps between checkpoints")
    keep_checkpoints: int = _opt(3, min=1)
    snapshot_every: int = _opt(250, min=1, doc="steps between fixed-z sample snapshots")
    log_every: int = _opt(50, min=1)
    nan_patience: int = _opt(3, min=1, doc="non-finite steps before restoring a checkpoint")
    divergence_lr_factor: float = _opt(0.5, min=0.0, max=1.0, doc="lr multiplier after a restore")
    max_restores: int = _opt(5, min=0, doc="divergence restores before training stops with an error")
    mixed_precision: str = _opt("", choices=("", "mixed_float16", "mixed_bfloat16"))
    strategy: str = _opt("auto", choices=("auto", "default", "mirrored", "multi_worker"))


@dataclass(frozen=True)
class EvalConfig:
    features: str = _opt("classifier", choices=("classifier", "inception"))
    inception_handle: str = _opt("", doc="tensorflow-hub handle (URL or local dir) for inception")
    num_samples: int = _opt(10000, min=10)
    metrics: list = _list(("fid", "is", "kid", "pr", "coverage"), choices=MetricNames(),
                          doc="kgan.metrics.registry names; pr = improved precision/recall, "
                              "coverage = class-histogram mode coverage")
    classifier_epochs: int = _opt(3, min=1)
    history_every: int = _opt(1000, min=0, doc="steps between metric-history points during training (0 = off)")
    history_samples: int = _opt(1000, min=10, doc="samples per metric-history point (a trend, not the score)")


@dataclass(frozen=True)
class ExportConfig:
    base: str = _opt("saved_models", doc="TF Serving model_base_path root")
    name: str = _opt("", doc="served model name (default: experiment name)")
    warmup_requests: int = _opt(1, min=0, max=100)


@dataclass(frozen=True)
class ExperimentConfig:
    name: str = _opt("experiment", doc="experiment name; also the default export name")
    seed: int = _opt(0, min=0)
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
    _check_cross_fields(cfg)
    return cfg


def _check_cross_fields(cfg: ExperimentConfig) -> None:
    from kgan.models.registry import model_names  # late: the registry imports keras

    if cfg.model.name not in model_names():
        raise ConfigError(f"model.name: unknown model {cfg.model.name!r}; choose from {model_names()}")
    if cfg.eval.features == "inception" and not cfg.eval.inception_handle:
        raise ConfigError("eval.inception_handle: required when eval.features = 'inception'")


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment file; errors name the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    try:
        return from_dict(raw)
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None


def dump_toml(cfg: ExperimentConfig) -> str:
    """Serialize a config back to TOML (used to record the resolved config in a run directory)."""

    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(scalar(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {scalar(x)}" for k, x in v.items()) + "}"
        raise TypeError(v)

    d = cfg.to_dict()
    lines = [f"{k} = {scalar(v)}" for k, v in d.items() if not isinstance(v, dict)]
    for section, values in d.items():
        if isinstance(values, dict) and dataclasses.is_dataclass(getattr(cfg, section)):
            lines.append(f"\n[{section}]")
            lines += [f"{k} = {scalar(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def describe() -> str:
    """Every key with its default and constraint, for `kgan config --help`-style listings."""
    out = []
    for section in dataclasses.fields(ExperimentConfig):
        cls = typing.get_type_hints(ExperimentConfig)[section.name]
        if not dataclasses.is_dataclass(cls):
            continue
        out.append(f"[{section.name}]")
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
            extra = f.metadata.get("doc", "")
            if f.metadata.get("choices"):
                extra += f" (one of {list(f.metadata['choices'])})"
            out.append(f"  {f.name} = {default!r}  {extra}".rstrip())
    return "\n".join(out)

