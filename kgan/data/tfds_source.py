"""`tfds:NAME[:SPLIT]`: a TensorFlow Datasets dataset that is already prepared in a data_dir.

Never downloads: training must not depend on the network, so an unprepared dataset is an error
that says how to prepare it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from kgan.data.source import Source
from kgan.errors import DataError


def open_tfds(name: str, spec: str, data_dir: str | None) -> Source:
    dataset, _, split = spec.partition(":")
    split = split or "train"
    where = f"tfds:{dataset} in {data_dir or 'the default TFDS data_dir'}"
    try:
        builder = tfds.builder(dataset, data_dir=data_dir)
    except (tfds.core.registered.DatasetNotFoundError, ValueError) as e:
        raise DataError(f"{where}: unknown dataset ({str(e).splitlines()[0]})") from None
    if not builder.is_prepared():
        raise DataError(f"{where}: not prepared there (kgan never downloads); run "
                        f"tfds.builder({dataset!r}, data_dir=...).download_and_prepare() first")
    features = builder.info.features
    if "image" not in features or features["image"].np_dtype != np.uint8:
        raise DataError(f"{where}: needs a uint8 'image' feature; it has {features}")
    try:
        count = builder.info.splits[split].num_examples
        ds = builder.as_dataset(split=split)
    except (KeyError, ValueError) as e:
        raise DataError(f"{where}: bad split {split!r} (splits: {list(builder.info.splits)}; "
                        f"{e})") from None
    if not count:
        raise DataError(f"{where}: split {split!r} is empty")
    has_label = "label" in features

    def pick(ex):
        label = tf.cast(ex["label"], tf.int64) if has_label else tf.constant(-1, tf.int64)
        return ex["image"], label

    shape = tuple(features["image"].shape)
    shapes = {shape: f"{where} split {split}"} if None not in shape else {}
    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    return Source(name, ds, count, shapes)
