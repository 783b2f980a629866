"""Source strings (`mnist`, `idx:PATH`, `folder:PATH`, `tfds:NAME[:SPLIT]`, `npz:PATH`,
`paired:DIR_A,DIR_B`, `unpaired:SOURCE_A,SOURCE_B`, `shards:DIR`: a prepared data set) -> data."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import tensorflow as tf

import kgan
from kgan.data.folder import folder_labels, open_folder
from kgan.data.idx import idx_labels, open_idx
from kgan.data.npz import npz_labels, open_npz
from kgan.data.paired_folders import open_paired, paired_labels
from kgan.data.shards import open_shards, shards_labels
from kgan.data import unpaired
from kgan.data.source import Source
from kgan.errors import DataError

SCHEMES = ("mnist", "idx:PATH", "folder:PATH", "tfds:NAME[:SPLIT]", "npz:PATH", "paired:DIR_A,DIR_B",
           "unpaired:SOURCE_A,SOURCE_B", "shards:DIR")
PATH_OPENERS = {"idx": open_idx, "folder": open_folder, "npz": open_npz, "paired": open_paired, "shards": open_shards}
LABEL_READERS = {"idx": idx_labels, "folder": folder_labels, "npz": npz_labels, "paired": paired_labels,
                 "shards": shards_labels}


def data_root() -> Path:
    """Where bundled data lives: `$KGAN_DATA_DIR`, else the package's own `kgan/data/` (the vendored MNIST
    test set ships in the wheel)."""
    return Path(os.environ.get("KGAN_DATA_DIR") or Path(kgan.__file__).parent / "data")


def parse_source(source: str) -> tuple[str, Path | str | tuple[Path, Path]]:
    """A source string as (scheme, path, TFDS spec, the two folders of `paired:` or the whole `unpaired:`
    string); `mnist` is the bundled IDX pair."""
    scheme, sep, rest = source.partition(":")
    if source == "mnist":
        root = data_root() / "mnist"
        if not root.is_dir():
            raise DataError(f"mnist: {root} not found; set KGAN_DATA_DIR to a folder holding mnist/")
        return "idx", root
    if sep and scheme == "unpaired":
        unpaired.parse(source)
        return scheme, source
    if sep and scheme == "paired":
        dirs = rest.split(",")
        if len(dirs) != 2 or not all(dirs):
            raise DataError(f"{source!r}: expected paired:DIR_A,DIR_B, two folders separated by one comma")
        return scheme, tuple(Path(d).expanduser() for d in dirs)
    if sep and rest and scheme in PATH_OPENERS:
        return scheme, Path(rest).expanduser()
    if sep and rest and scheme == "tfds":
        return scheme, rest
    raise DataError(f"{source!r}: unknown data source; use one of {', '.join(SCHEMES)}")


def open_source(source: str, data_dir: str | None = None) -> Source:
    """Parse a source string and open it; every user mistake becomes a DataError."""
    scheme, where = parse_source(source)
    if scheme == "tfds":
        from kgan.data.tfds_source import open_tfds  # late: TFDS is slow to import

        return open_tfds(source, where, data_dir)
    if scheme == "unpaired":
        return unpaired.open_unpaired(source, data_dir)
    return PATH_OPENERS[scheme](source, where)


def read_labels(source: str, data_dir: str | None = None) -> np.ndarray | None:
    """Every label of a source, checked, without decoding its images (None: it has no labels)."""
    scheme, where = parse_source(source)
    if scheme == "tfds":
        from kgan.data.tfds_source import tfds_labels

        return tfds_labels(where, data_dir)
    if scheme == "unpaired":
        return unpaired.unpaired_labels(source, data_dir)
    return LABEL_READERS[scheme](where)


def load_source(source: str, data_dir: str | None = None) -> tf.data.Dataset:
    """Dataset of `(uint8 [H,W,C], int64 label)`, label -1 when the source has none."""
    return open_source(source, data_dir).dataset


def load_arrays(source: str, data_dir: str | None = None, limit: int = 0
                ) -> tuple[np.ndarray, np.ndarray]:
    """All (or the first `limit`) examples as numpy `(uint8 NHWC, int64 N)`; one image size only."""
    src = open_source(source, data_dir)
    src.single_shape()
    ds = src.dataset.take(limit) if limit else src.dataset
    images, labels = [], []
    try:
        for x, y in ds.batch(1024).as_numpy_iterator():
            images.append(x)
            labels.append(y)
    except tf.errors.InvalidArgumentError as e:  # a variable-size TFDS feature with mixed sizes
        raise DataError(f"{source}: images differ in size; {e.message.splitlines()[0]}") from None
    return np.concatenate(images), np.concatenate(labels)
