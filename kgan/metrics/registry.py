"""The metric registry: each metric declares itself once, in its own module.

A `Metric` says what it needs, how to compute it, which numbers are its headline, whether lower or
higher is better and how to display it. `evaluate`, the report table, `kgan evaluate` and the
config's `eval.metrics` choices all read the registry, so adding a metric is one new module in
`kgan.metrics` that calls `register(Metric(...))`: discovery imports every module of the package
(pkgutil). That is why modules of this package import TensorFlow only inside functions; the one
exception, `history` (a Keras callback, and no metric), is skipped.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable

from kgan.errors import ConfigError
from kgan.progress import Progress

#: What a metric can ask for: extractor features, class probabilities, the pixels of samples and
#: reference, a latent generator (not stored samples), (model output, target) pairs, the data's
#: class labels of the paired examples, and the classes of the inputs the samples were translated from
#: (an unpaired translator's, `Inputs.labels` beside `sample`), the texts the samples were generated from
#: (a text-conditioned model's captions, `Inputs.texts`), and a generator that declares an intermediate latent
#: space (`latent_space`: StyleGAN's W). An autoencoder's encoder with held-out examples to encode
#: (`Inputs.held_out`): "encoder".
NEEDS = ("features", "probs", "images", "generator", "paired", "labels", "input_labels", "texts", "latent_space",
         "encoder")
#: Which way is better. "match": neither; the value should be close to the real-vs-real one.
DIRECTIONS = ("lower", "higher", "match")

_SKIP = {"registry", "history"}
_METRICS: dict[str, "Metric"] = {}
_discovered = False


@dataclass(frozen=True)
class Headline:
    """One number of a metric's result dict shown in tables: `result[key]`, shown as `label`."""

    key: str
    label: str
    direction: str = ""  # "" = the metric's own direction


@dataclass(frozen=True)
class Metric:
    """A metric declaration. `compute(inputs: Inputs, **options) -> dict` (JSON-serializable)."""

    name: str
    needs: frozenset
    compute: Callable[..., dict]
    headlines: tuple
    direction: str
    description: str
    scale: float = 1.0  # displayed value = scale * result value (KID: 1e3)

    def __post_init__(self):
        object.__setattr__(self, "needs", frozenset(self.needs))
        object.__setattr__(self, "headlines", tuple(self.headlines))
        unknown = sorted(self.needs - set(NEEDS))
        if unknown:
            raise ValueError(f"metric {self.name!r}: unknown needs {unknown}; known: {NEEDS}")
        for d in [self.direction] + [h.direction for h in self.headlines if h.direction]:
            if d not in DIRECTIONS:
                raise ValueError(f"metric {self.name!r}: direction {d!r} not in {DIRECTIONS}")
        if not self.headlines:
            raise ValueError(f"metric {self.name!r} declares no headline numbers")

    def label(self, headline: Headline) -> str:
        return headline.label if self.scale == 1 else f"{headline.label} x{self.scale:.0e}".replace(
            "e+0", "e")

    def direction_of(self, headline: Headline) -> str:
        return headline.direction or self.direction


@dataclass
class Inputs:
    """What `compute` receives: one side (`sample`), the side it is compared with (`reference`),
    each a dict with `stats`, `features`, `probs` and `images`, plus the run's context. `pairs` is
    (outputs, targets), uint8 NHWC arrays of one shape; `labels` the data's class labels of the
    examples `pairs[0]` was made from (-1 = unlabelled), or, beside `sample`, of the inputs the samples were
    translated from (None for reference points that were translated from nothing). `bar(what, total, unit)` makes a progress
    line for loops that take more than a moment (silent when quick or when progress is off)."""

    sample: dict = field(default_factory=dict)
    reference: dict = field(default_factory=dict)
    seed: int = 0
    generator: Any = None
    extractor: Any = None
    pairs: tuple | None = None
    labels: Any = None
    texts: Any = None  # the captions `sample` was generated from, row for row (text-conditioned models)
    side: str = "samples"
    progress: bool = False
    #: held-out examples of an autoencoder ({"image": float [-1, 1] NHWC, "label": int, -1 unlabelled}); its
    #: `generator.encode` / `decode` map them to codes and back (`kgan.metrics.codes` keeps what they made)
    held_out: dict | None = None

    def bar(self, what: str, total: int, unit: str = "it") -> Progress:
        return Progress(f"{what} ({self.side})", total, enabled=self.progress, delay=1.0, unit=unit)


def register(metric: Metric) -> Metric:
    """Add a metric; the same name from a second module is an error (re-importing one module,
    as a reload does, replaces its declaration)."""
    old = _METRICS.get(metric.name)
    if old is not None and old.compute.__module__ != metric.compute.__module__:
        raise ValueError(f"metric {metric.name!r} is registered by {old.compute.__module__} and "
                         f"{metric.compute.__module__}")
    _METRICS[metric.name] = metric
    return metric


def unregister(name: str) -> None:
    """Remove a metric (tests register throwaway ones)."""
    _METRICS.pop(name, None)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    import kgan.metrics as package

    for mod in pkgutil.iter_modules(package.__path__):
        if mod.name not in _SKIP:
            importlib.import_module(f"{package.__name__}.{mod.name}")
    _discovered = True


def names() -> list[str]:
    """Every registered metric name, sorted (import order is not a stable order)."""
    _discover()
    return sorted(_METRICS)


def get(name: str) -> Metric:
    _discover()
    if name not in _METRICS:
        raise ConfigError(f"unknown metric {name!r}; known: {', '.join(_METRICS)}")
    return _METRICS[name]


class MetricNames:
    """The registered names as a lazy collection, for `EvalConfig.metrics` choices: the config
    module imports this without importing any metric until a value is validated."""

    def __iter__(self):
        return iter(names())

    def __contains__(self, name) -> bool:
        return name in names()

    def __repr__(self) -> str:
        return repr(names())
