"""`inspect_source`: what a source holds (count, image shape, classes, label histogram)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kgan.progress import Progress
from kgan.data.source import checked_labels
from kgan.data.sources import open_source


def _scan(ds: tf.data.Dataset, count: int) -> tuple[np.ndarray, set]:
    """Labels and distinct shapes by reading every example (only when not known up front)."""
    labels, shapes, progress = [], set(), Progress("scanning", count, delay=1.0)
    for shape, label in ds.map(lambda x, y: (tf.shape(x), y)).batch(1024).as_numpy_iterator():
        labels.append(label)
        shapes.update(map(tuple, shape.tolist()))
        progress.update(len(label))
    progress.close()
    return np.concatenate(labels), shapes


def inspect_source(source: str, data_dir: str | None = None) -> dict:
    """`count`, `shape` ((H, W, C) or "mixed"), `num_classes`, `histogram` {label: n}, `dtype`; a paired source
    adds `source_shape`, the shape of its source images (its own are the targets)."""
    src = open_source(source, data_dir)
    labels, shapes = src.labels, set(src.shapes)
    if labels is None or not shapes:
        labels, shapes = _scan(src.dataset, src.count)
        labels = checked_labels(labels, source)
    values, counts = np.unique(labels, return_counts=True)
    histogram = {int(v): int(n) for v, n in zip(values, counts)}
    info = {
        "count": src.count,
        "shape": _one(shapes),
        "num_classes": sum(1 for v in histogram if v >= 0),
        "histogram": histogram,
        "dtype": src.dataset.element_spec[0].dtype.name,
    }
    if src.source_images is not None:
        info["source_shape"] = _one(src.source_images.shapes)
    return info


def _one(shapes) -> tuple | str:
    return next(iter(shapes)) if len(shapes) == 1 else "mixed"
