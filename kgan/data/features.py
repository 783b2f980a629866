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
