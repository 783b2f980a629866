"""Metric history during training: a callback that scores the sampler every N steps.

Writes `RUN/reports/step_<step>.json` (the same report format as `evaluate`, with a `step`) and the
headline numbers to TensorBoard (`metrics/FID`, ...); `read_history` reads them back for the gallery and
`kgan compare`, which plot them against the step; a regression (FID rising while the losses look calm) is then
visible without re-running anything. Uses few samples by design: it tracks a trend, the final
evaluation gives the number to quote. Under a multi-worker strategy only the chief scores and writes; the workers
of a pipeline's multi-worker run get the callback from a spec file (`write_spec` / `from_spec`: the extractor,
the reference as a recipe, the schedule), since they are separate `kgan train` processes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import tensorflow as tf

from kgan import distribute, io
from kgan.errors import DataError
from kgan.metrics.features import get_extractor
from kgan.metrics.report import evaluate, headline
from kgan.metrics.sources import from_gan
from kgan.training import crossed_multiple, current_step


class MetricHistory(keras.callbacks.Callback):
    def __init__(self, run_dir: str | Path, extractor: str, reference_images, *, every: int,
                 n: int = 2000, metrics=("fid", "is"), seed: int = 0, cache_dir: str | Path | None = None,
                 reference_name: str = "", data_cfg=None, batch_size: int = 64):
        """`reference_images`: what `evaluate` takes (a `Reference`, an array, a source string) or a
        `reference.from_recipe` recipe, opened when training begins."""
        super().__init__()
        self.run_dir, self.reports = Path(run_dir), Path(run_dir) / "reports"
        # loaded when training begins (on the chief alone): a multi-worker strategy must be made before TensorFlow
        # runs anything, and the other workers never score
        self.extractor_spec, self.extractor, self.tensorboard = extractor, None, None
        self.chief = True
        self.reference = reference_images
        self.every, self.n, self.metrics, self.seed = every, n, list(metrics), seed
        self.cache_dir, self.reference_name = cache_dir, reference_name
        self.data_cfg, self.batch_size = data_cfg, batch_size  # feeds models whose inputs come from data
        self._last = -1

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if self.chief and crossed_multiple(self._last, step, self.every):
            self.score(step)

    def on_train_begin(self, logs=None):
        self._last = current_step(self.model)
        self.chief = distribute.is_chief(self.model.distribute_strategy)
        if self.chief and self.extractor is None:  # loaded once, not at every evaluation
            self.extractor = get_extractor(self.extractor_spec)
            if isinstance(self.reference, dict):  # a spec's recipe: opening it runs TensorFlow, so not before
                from kgan.metrics.reference import from_recipe

                self.reference = from_recipe(self.reference)
                self.n = min(self.n, self.reference.count)
            self.tensorboard = tf.summary.create_file_writer(str(self.run_dir / "logs" / "tensorboard"),
                                                             filename_suffix=".metrics")

    def on_train_end(self, logs=None):
        if self.chief and current_step(self.model) != self._last:
            self.score(current_step(self.model))

    def score(self, step: int) -> None:
        generator = from_gan(self.model)
        report = evaluate(generator, self.reference, self.extractor, metrics=self.metrics, n=self.n,
                          seed=self.seed, cache_dir=self.cache_dir, reference_name=self.reference_name,
                          data=self._data() if generator.fed_from_data else None, data_config=self.data_cfg,
                          progress=False)
        report["step"] = step
        io.write_json(self.reports / f"step_{step:07d}.json", report)
        self._to_tensorboard(report, step)
        self._last = step

    def _data(self):
        """The evaluation split's feature batches (held out when `data.holdout` keeps some), as Evaluate feeds."""
        from kgan.data.features import feature_batches

        if self.data_cfg is None:
            raise DataError("metric history: the model's inputs come from data; pass data_cfg=")
        return feature_batches(self.data_cfg, self.batch_size, seed=self.seed, split="evaluation")

    def _to_tensorboard(self, report: dict, step: int) -> None:
        """The headline numbers beside the losses in TensorBoard (`metrics/FID`, `metrics/IS`, ...)."""
        with self.tensorboard.as_default(step=step):
            for name, result in report["metrics"].items():
                for label, value in headline(name, result):
                    tf.summary.scalar(f"metrics/{label}", value)
        self.tensorboard.flush()


def _report_step(path: Path, report: dict):
    step = report.get("step")
    if isinstance(step, (int, float)):
        return step
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else None


def read_history(reports_dir: str | Path) -> dict[str, list[tuple[float, float]]]:
    """{headline label: [(step, value)] by step} from the reports `MetricHistory` wrote (unreadable or
    step-less files are skipped; no directory gives {})."""
    reports_dir = Path(reports_dir)
    points: dict[str, list[tuple[float, float]]] = {}
    for path in sorted(reports_dir.glob("*.json")) if reports_dir.is_dir() else []:
        try:
            report = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        step = _report_step(path, report) if isinstance(report, dict) else None
        if step is None:
            continue
        for metric, result in (report.get("metrics") or {}).items():
            for label, value in headline(metric, result):
                points.setdefault(label, []).append((step, value))
    return {label: sorted(pts) for label, pts in points.items()}


SPEC_KEYS = ("extractor", "reference", "every", "n", "seed", "cache_dir", "reference_name")


def write_spec(path: str | Path, spec: dict) -> None:
    """What a `kgan train --history PATH` process needs to build the callback: the `SPEC_KEYS` as JSON (the
    reference as its recipe, `kgan.metrics.reference.from_recipe`; paths absolute, for workers started elsewhere)."""
    io.write_json(Path(path), spec)


def from_spec(run_dir: str | Path, path: str | Path, data_cfg) -> MetricHistory:
    """The callback a spec written by `write_spec` describes, for the run in `run_dir`."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable metric-history spec ({e})") from None
    missing = set(SPEC_KEYS) - set(spec)
    if missing:
        raise DataError(f"{path}: metric-history spec without {sorted(missing)}")
    return from_spec_dict(run_dir, spec, data_cfg)


def from_spec_dict(run_dir: str | Path, spec: dict, data_cfg) -> MetricHistory:
    """The callback of a spec (`SPEC_KEYS`): its reference rebuilt from the recipe when training begins, at most
    its count scored."""
    return MetricHistory(run_dir, spec["extractor"], spec["reference"], every=spec["every"], n=spec["n"],
                         seed=spec["seed"], cache_dir=spec["cache_dir"],
                         reference_name=spec["reference_name"], data_cfg=data_cfg, batch_size=data_cfg.batch_size)
