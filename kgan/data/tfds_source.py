"""`tfds:NAME[:SPLIT]`: a TensorFlow Datasets dataset that is already prepared in a data_dir.

Never downloads: training must not depend on the network, so an unprepared dataset is an error
that says how to prepare it.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from kgan.data.source import Source, checked_labels
from kgan.errors import DataError


def _prepared(spec: str, data_dir: str | None):
    """(builder, split, where, count) of a prepared dataset with a uint8 image and, if any, scalar
    integer labels."""
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
    if "label" in features:
        label = features["label"]
        if not np.issubdtype(label.np_dtype, np.integer) or tuple(label.shape) != ():
            raise DataError(f"{where}: the 'label' feature is {np.dtype(label.np_dtype)} shaped "
                            f"{tuple(label.shape)}; expected one integer per example")
    try:
        count = builder.info.splits[split].num_examples
    except (KeyError, ValueError) as e:
        raise DataError(f"{where}: bad split {split!r} (splits: {list(builder.info.splits)}; "
                        f"{e})") from None
    return builder, split, where, count


def tfds_labels(spec: str, data_dir: str | None) -> np.ndarray | None:
    """Every label, read without decoding a single image."""
    builder, split, where, _ = _prepared(spec, data_dir)
    if "label" not in builder.info.features:
        return None
    ds = builder.as_dataset(split=split, decoders={"image": tfds.decode.SkipDecoding()})
    batches = list(ds.map(lambda ex: ex["label"]).batch(4096).as_numpy_iterator())
    return checked_labels(np.concatenate(batches) if batches else np.zeros(0, np.int64),
                          f"{where} split {split}")


def open_tfds(name: str, spec: str, data_dir: str | None) -> Source:
    builder, split, where, count = _prepared(spec, data_dir)
    if not count:
        raise DataError(f"{where}: split {split!r} is empty")
    ds = builder.as_dataset(split=split)
    has_label = "label" in builder.info.features

    def pick(ex):
        label = tf.cast(ex["label"], tf.int64) if has_label else tf.constant(-1, tf.int64)
        return ex["image"], label

    shape = tuple(builder.info.features["image"].shape)
    shapes = {shape: f"{where} split {split}"} if None not in shape else {}
    ds = ds.map(pick, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.apply(tf.data.experimental.assert_cardinality(count))
    return Source(name, ds, count, shapes)
