"""Training batches as named features: `{"image", "label"}` plus what `data.transform` adds.

Models ask for features by name (`Engine.required_features`); the pipeline is `make_dataset`'s
batches, optionally resized (a training phase's resolution) and transformed (paired features).
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from kgan.data import transforms
from kgan.data.preprocess import PREFETCH, make_dataset


def available_features(data_cfg) -> tuple[str, ...]:
    return ("image", "label") + transforms.feature_names(data_cfg.transform)


def feature_dataset(data_cfg, *, seed: int = 0, repeat: bool = True, batch_size: int | None = None,
                    resolution: int | None = None) -> tf.data.Dataset:
    """Batches of named features; `resolution` resizes images (bilinear, antialiased) after loading."""
    if batch_size is not None:
        data_cfg = dataclasses.replace(data_cfg, batch_size=batch_size)
    ds = make_dataset(data_cfg, seed=seed, repeat=repeat)
    resize = resolution is not None and resolution != data_cfg.resolution

    def named(image, label):
        if resize:
            image = tf.image.resize(image, (resolution, resolution), method="bilinear", antialias=True)
        return {"image": image, "label": label}

    ds = ds.map(named)
    if data_cfg.transform:
        ds = ds.enumerate().map(lambda i, f: transforms.apply(
            data_cfg.transform, f, tf.stack([tf.constant(seed, tf.int64), i])))
    return ds.prefetch(PREFETCH)


def feature_batches(data_cfg, batch_size: int, *, seed: int = 0):
    """An endless iterator of numpy feature batches, in the config's (seeded) order: what evaluation feeds a
    model whose inputs come from data."""
    for batch in feature_dataset(data_cfg, seed=seed, repeat=True, batch_size=batch_size):
        yield {k: v.numpy() for k, v in batch.items()}


def feature_arrays(data_cfg, n: int, *, seed: int = 0) -> dict:
    """The first `n` examples' features (unshuffled), as numpy arrays: galleries and snapshots show these."""
    unshuffled = dataclasses.replace(data_cfg, shuffle_buffer=0)
    n = min(n, unshuffled.limit or n)
    batch = next(iter(feature_dataset(unshuffled, seed=seed, repeat=True, batch_size=n)))
    return {k: v.numpy() for k, v in batch.items()}
