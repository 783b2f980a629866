"""Metric history during training: a callback that scores the sampler every N steps.

Writes `RUN/reports/step_<step>.json` (the same report format as `evaluate`, with a `step`) and the
headline numbers to TensorBoard (`metrics/FID`, ...); `read_history` reads them back for the gallery and
`kgan compare`, which plot them against the step; a regression (FID rising while the losses look calm) is then
visible without re-running anything. Uses few samples by design: it tracks a trend, the final
evaluation gives the number to quote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgan import io
from kgan.errors import DataError
from kgan.metrics.features import get_extractor
from kgan.metrics.report import evaluate, headline
from kgan.metrics.sources import from_gan
from kgan.training import crossed_multiple, current_step


class MetricHistory(keras.callbacks.Callback):
    def __init__(self, run_dir: str | Path, extractor: str, reference_images, *, every: int,
                 n: int = 2000, metrics=("fid", "is"), seed: int = 0, cache_dir: str | Path | None = None,
                 reference_name: str = "", data_cfg=None, batch_size: int = 64):
        super().__init__()
        self.reports = Path(run_dir) / "reports"
        self.tensorboard = tf.summary.create_file_writer(str(Path(run_dir) / "logs" / "tensorboard"),
                                                         filename_suffix=".metrics")
        self.extractor = get_extractor(extractor)  # loaded once, not at every evaluation
        self.reference = reference_images
        self.every, self.n, self.metrics, self.seed = every, n, list(metrics), seed
        self.cache_dir, self.reference_name = cache_dir, reference_name
        self.data_cfg, self.batch_size = data_cfg, batch_size  # feeds models whose inputs come from data
        self._last = -1

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if crossed_multiple(self._last, step, self.every):
            self.score(step)

    def on_train_begin(self, logs=None):
        self._last = current_step(self.model)

    def on_train_end(self, logs=None):
        if current_step(self.model) != self._last:
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
