"""What every source opener returns: the raw dataset plus what is cheaply known about it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import tensorflow as tf

from kgan.errors import DataError

Shape = tuple[int, int, int]
MAX_LABEL = 2**31 - 1  # labels are int32 in training batches


@dataclass(frozen=True)
class Source:
    """An opened data source.

    `dataset` yields `(uint8 [H,W,C], int64 label)` with label -1 when unlabelled.
    `shapes` maps each distinct image shape to where it first occurs (a file name), so shape
    errors can name a culprit without decoding again; it is empty when the shape is only known by
    reading every example (a variable-size TFDS feature).
    `labels` holds every label when that is cheap to know up front, else None.
    `source_images` is set by a paired source (`paired:DIR_A,DIR_B`): the images translated into these
    ones, example i paired with example i, so both stay in one order through splits and shuffles.
    `domain_a` is set by an unpaired source (`unpaired:SOURCE_A,SOURCE_B`, `kgan.data.unpaired`): the other
    domain's examples, as many as these, with no relation between example i of each.
    `records` is set by a prepared source (`shards:DIR`, `kgan.data.shards`): its examples as dicts of every
    stored feature, images still encoded, with their `index`, which `make_dataset` splits by (right on any subset of
    the files); `decode` maps such a record to its uint8 images, `files` are its shard files.
    `images`: the images per example (a pair's two, two domains, a prepared set's stored ones): what sizes the
    in-memory cache.
    """

    name: str
    dataset: tf.data.Dataset
    count: int
    shapes: dict[Shape, str] = field(default_factory=dict)
    labels: np.ndarray | None = None
    source_images: "Source | None" = None
    domain_a: "Source | None" = None
    records: tf.data.Dataset | None = None
    decode: Callable[[dict], dict] | None = None
    files: tuple[str, ...] = ()
    images: int = 1

    def single_shape(self) -> Shape | None:
        """The one image shape (None if unknown until read); DataError naming two files if mixed."""
        if len(self.shapes) > 1:
            (a, where_a), (b, where_b) = list(self.shapes.items())[:2]
            raise DataError(f"{self.name}: mixed image sizes: {where_a} is {format_shape(a)} but "
                            f"{where_b} is {format_shape(b)}; set data.resize to 'pad' or "
                            f"'resize' to bring them to one size")
        return next(iter(self.shapes), None)


def format_shape(shape) -> str:
    return "x".join(map(str, shape))


def from_arrays(name: str, images: np.ndarray, labels: np.ndarray | None, *,
                where: str, labels_where: str | None = None) -> Source:
    """Check in-memory images (N,H,W) or (N,H,W,C) uint8 and labels, and wrap them.

    `where` / `labels_where` name the files in error messages.
    """
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{where}: expected images shaped (N,H,W) or (N,H,W,C) with C in (1, 3), "
                        f"got {images.shape}")
    if len(images) == 0 or 0 in images.shape:
        raise DataError(f"{where}: the dataset is empty (image array shape {images.shape})")
    labels = np.full(len(images), -1, np.int64) if labels is None else \
        checked_labels(labels, labels_where or where)
    if len(labels) != len(images):
        raise DataError(f"{labels_where or where}: {len(labels)} labels but {where} has "
                        f"{len(images)} images")
    ds = tf.data.Dataset.from_tensor_slices((images, labels))
    return Source(name, ds, len(images), {tuple(images.shape[1:]): str(where)}, labels)


def checked_labels(labels, where: str) -> np.ndarray:
    """Labels as int64 [N] (-1 = unlabelled), or a DataError naming `where` and the first bad index.

    A plain cast would turn NaN into 0 (or -2**63), wrap 2**40 + 7 to 7 and truncate 2.5 to 2.
    """
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(f"{where}: labels shaped {labels.shape}; expected one label per example, (N,)")
    if labels.dtype.kind not in "iuf":
        raise DataError(f"{where}: labels have dtype {labels.dtype}; expected integers")
    with np.errstate(invalid="ignore"):
        bad = (labels < -1) | (labels > MAX_LABEL)
        if labels.dtype.kind == "f":
            bad |= ~np.isfinite(labels) | (labels != np.round(labels))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{where}: label {labels[i].item()!r} at index {i} is not an integer in "
                        f"0..{MAX_LABEL} (or -1 = unlabelled)")
    return labels.astype(np.int64)
