"""Training batches as named features: `{"image", "label"}` plus the pairs of a paired source or of
`data.transform` (`kgan.data.pairs`).

Models ask for features by name (`Engine.required_features`); the pipeline is `make_dataset`'s
batches, optionally resized (a training phase's resolution) and transformed (paired features).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from kgan.data import pairs, transforms
from kgan.data.preprocess import PREFETCH, make_dataset


def evaluation_split(data_cfg) -> str:
    """Where data-fed models are scored and shown: the held-out examples when there are any."""
    return "holdout" if data_cfg.holdout else "train"


def available_features(data_cfg) -> tuple[str, ...]:
    return ("image", "label") + pairs.feature_names(data_cfg) + (("text",) if data_cfg.captions else ())


def feature_dataset(data_cfg, *, seed: int = 0, repeat: bool = True, batch_size: int | None = None,
                    resolution: int | None = None, split: str = "train", report=None) -> tf.data.Dataset:
    """Batches of named features of one split: `train`, `holdout` (`data.holdout`), or `evaluation` (where
    data-fed models are scored and shown: `evaluation_split`); `resolution` resizes images after loading
    (by an integer factor down: box filter; otherwise bilinear, antialiased); `report` gets the in-memory cache
    decision (`make_dataset`)."""
    if split == "evaluation":
        split = evaluation_split(data_cfg)
    if batch_size is not None:
        data_cfg = dataclasses.replace(data_cfg, batch_size=batch_size)
    ds = make_dataset(data_cfg, seed=seed, repeat=repeat, split=split, named=True, report=report)
    if resolution is not None and resolution != data_cfg.resolution:
        # an integer factor down: a box filter, so each resolution is the 2x average pool of the next (as growing
        # networks downsample); otherwise bilinear, antialiased
        method = "area" if data_cfg.resolution % resolution == 0 else "bilinear"
        ds = ds.map(lambda features: {k: tf.image.resize(v, (resolution, resolution), method=method, antialias=True)
                                      if v.shape.rank == 4 else v for k, v in features.items()})
    if data_cfg.transform:
        ds = ds.enumerate().map(lambda i, f: transforms.apply(
            data_cfg.transform, data_cfg, f, tf.stack([tf.constant(seed, tf.int64), i])),
            num_parallel_calls=tf.data.AUTOTUNE)  # batches in parallel, kept in order
    return ds.prefetch(PREFETCH)


def feature_batches(data_cfg, batch_size: int, *, seed: int = 0, split: str = "train"):
    """An endless iterator of numpy feature batches, in the config's (seeded) order: what evaluation feeds a
    model whose inputs come from data."""
    for batch in feature_dataset(data_cfg, seed=seed, repeat=True, batch_size=batch_size, split=split):
        yield {k: v.numpy() for k, v in batch.items()}


def feature_arrays(data_cfg, n: int, *, seed: int = 0, split: str = "train") -> dict:
    """Up to the first `n` examples' features of a split (unshuffled), as numpy arrays: what snapshots and
    galleries show."""
    unshuffled = dataclasses.replace(data_cfg, shuffle_buffer=0, batch_size=1)
    rows = list(feature_dataset(unshuffled, seed=seed, repeat=False, split=split).take(n).as_numpy_iterator())
    return {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
