"""`folder:PATH`: images in class subfolders (labels = sorted folder names, as Keras does it),
or directly in PATH (unlabelled, -1).

Decoding is TensorFlow's (`tf.io.decode_image`). Every file is decoded once up front, so that a
corrupt file is reported by name here instead of as an op error deep inside a training run, and so
that the image sizes are known before anyone needs them. Images keep their size. Grayscale stays
one channel unless the folder also holds colour images, in which case all become RGB; alpha is
dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgan.progress import Progress
from kgan.data.source import Shape, Source
from kgan.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")  # what Keras' image loaders accept


def _images_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in EXTENSIONS)


def list_files(root: Path) -> tuple[list[Path], list[int]]:
    """Files and labels: a class per subfolder in name order, or -1 for images directly in root."""
    classes = sorted(p for p in root.iterdir() if p.is_dir())
    if not classes:
        files = _images_in(root)
        return files, [-1] * len(files)
    files, labels = [], []
    for label, directory in enumerate(classes):
        found = _images_in(directory)
        files += found
        labels += [label] * len(found)
    return files, labels


def _decode(contents: tf.Tensor, channels: int = 0) -> tf.Tensor:
    return tf.io.decode_image(contents, channels=channels, expand_animations=False)


def scan(files: list[Path]) -> list[tuple[int, int, int]]:
    """Decode each file once; a file TensorFlow cannot decode raises a DataError naming it."""
    shapes, progress = [], Progress("checking images", len(files), delay=1.0)
    for path in files:
        try:
            shapes.append(tuple(_decode(tf.io.read_file(str(path))).shape))
        except tf.errors.OpError as e:
            reason = re.sub(r"\{\{.*?\}\}|\[Op:.*", "", e.message).strip()  # drop TF op context
            raise DataError(f"{path}: cannot decode image ({reason})") from None
        progress.update()
    progress.close()
    return shapes


def checked_files(root: Path) -> tuple[list[Path], list[int]]:
    """`list_files`, with a DataError for a missing directory or one without images."""
    if not root.is_dir():
        raise DataError(f"{root}: no such directory")
    files, labels = list_files(root)
    if not files:
        raise DataError(f"{root}: the dataset is empty: no {'/'.join(EXTENSIONS)} images in it "
                        f"or in its class subfolders")
    return files, labels


def folder_labels(root: Path) -> np.ndarray:
    """Labels from the folder layout alone, without decoding an image."""
    return np.asarray(checked_files(root)[1], np.int64)


def open_folder(name: str, root: Path) -> Source:
    files, labels = checked_files(root)
    return open_files(name, files, labels, scan(files))


def open_files(name: str, files: list[Path], labels: list[int], raw_shapes: list[tuple[int, int, int]]) -> Source:
    """A Source reading `files` in this order, given their decoded shapes (`scan`)."""
    channels = 3 if any(c >= 3 for _, _, c in raw_shapes) else 1
    shapes: dict[Shape, str] = {}
    for path, (h, w, _) in zip(files, raw_shapes):
        shapes.setdefault((h, w, channels), str(path))

    static = next(iter(shapes)) if len(shapes) == 1 else (None, None, channels)

    def load(path, label):
        return tf.ensure_shape(_decode(tf.io.read_file(path), channels), static), label

    labels = np.asarray(labels, np.int64)
    ds = tf.data.Dataset.from_tensor_slices(([str(p) for p in files], labels))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return Source(name, ds, len(files), shapes, labels)
