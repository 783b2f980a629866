"""Do a source's labels fit the model? Checked before training, from the labels alone.

A conditional model (`model.num_classes > 0`) fed unlabelled data, labels of -1 or labels beyond
`num_classes` fails deep inside TensorFlow ("segment_ids[31] = 162 is out of range") or, worse,
trains on wrong classes. Reading only the labels (no image decoding) makes the check cheap enough
to run at every start.
"""

from __future__ import annotations

from typing import NamedTuple

from kgan.config import DataConfig, ExperimentConfig
from kgan.data.sources import read_labels
from kgan.errors import ConfigError


class LabelSummary(NamedTuple):
    labelled: bool  # at least one example has a label
    min: int | None  # -1 when some examples are unlabelled; None when none is labelled
    max: int | None


def label_summary(data_cfg: DataConfig) -> LabelSummary:
    """Labels of the examples training would use (the first `data.limit`, if set)."""
    labels = read_labels(data_cfg.source, data_cfg.data_dir or None)
    if labels is not None and data_cfg.limit:
        labels = labels[: data_cfg.limit]
    if labels is None or not len(labels) or labels.max() < 0:
        return LabelSummary(False, None, None)
    return LabelSummary(True, int(labels.min()), int(labels.max()))


def check_labels_fit(cfg: ExperimentConfig) -> None:
    """ConfigError naming `model.num_classes` and `data.source` unless every label fits the model."""
    n = cfg.model.num_classes
    if n == 0:  # unconditional: labels are never read
        return
    summary = label_summary(cfg.data)
    head = f"model.num_classes = {n} (a conditional model) but data.source = {cfg.data.source!r}"
    if not summary.labelled:
        raise ConfigError(f"{head} has no labels; use labelled data or set model.num_classes = 0")
    if summary.min < 0:
        raise ConfigError(f"{head} has unlabelled examples (label -1); every example needs a label")
    if summary.max >= n:
        raise ConfigError(f"{head} has labels up to {summary.max}; set model.num_classes to at "
                          f"least {summary.max + 1}")
