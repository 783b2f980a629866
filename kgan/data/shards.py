"""`shards:DIR`: a prepared data set (`kgan.prepare`): TFRecord shards of model-ready examples, streamed.

The shards are read by a parallel, deterministic interleave and decoded in parallel; nothing holds the whole set.
Every record carries the example's `index` (its position in the prepared set): `make_dataset` splits train and
holdout by it, so the split stays right on any subset of the files (a worker's, under multi-worker file sharding).
A record holds every feature of its example: `label`, each image (`image`, and a pair's `source` or an unpaired
example's `image_a` with its `label_a`: `kgan.data.pairs.STORED`) and, with captions, all the example's captions
(`text`, a list of strings: training draws one per epoch, `kgan.data.text`). Images are stored PNG, JPEG or raw
uint8 (`data.encoding`), each at its own shape; the shapes (`features`), the shard files and their checksums are in
the data set's `card.json`, written last.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgan.data import pairs
from kgan.data.source import Source
from kgan.errors import DataError

CARD = "card.json"
TEXT = "text"  # a record's captions (bytes list)
LABELS = "labels.npy"  # every label in index order: `read_labels` without reading a shard
CYCLE = 8  # shard files read at once: bounds the open readers (256 KB of buffer each) whatever the number of shards


def shard_name(k: int, n: int) -> str:
    return f"shard-{k:05d}-of-{n:05d}.tfrecord"


def encode_image(image: tf.Tensor, encoding: str) -> tf.Tensor:
    """uint8 [H, W, C] -> the stored bytes."""
    if encoding == "png":
        return tf.io.encode_png(image)
    if encoding == "jpeg":
        return tf.io.encode_jpeg(image, quality=95)
    return tf.io.serialize_tensor(image)


def decode_image(data: tf.Tensor, encoding: str, shape) -> tf.Tensor:
    """The stored bytes -> uint8 [H, W, C] of the card's shape."""
    if encoding == "raw":
        image = tf.io.parse_tensor(data, tf.uint8)
    else:
        image = tf.io.decode_image(data, channels=shape[-1], expand_animations=False)
    return tf.ensure_shape(image, shape)


def serialize(index: int, labels: dict[str, int], images: dict[str, bytes], text: list[str] | None = None) -> bytes:
    """One record: `index`, each label feature, each image feature's encoded bytes and, with captions, `text`."""
    int64 = lambda value: tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))  # noqa: E731
    feature = {"index": int64(index), **{name: int64(label) for name, label in labels.items()}}
    for name, data in images.items():
        feature[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[data]))
    if text is not None:
        feature[TEXT] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[t.encode() for t in text]))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def read_card(root: Path) -> dict:
    path = root / CARD
    if not path.is_file():
        raise DataError(f"{root}: not a prepared data set (no {CARD}; prepare it with `kgan pipeline` or "
                        f"kgan.prepare.prepare_dataset)")
    card = json.loads(path.read_text())
    if "shards" not in card:
        raise DataError(f"{path}: a card without shards (data.format = 'source' reads the source itself)")
    if "file" in card.get(TEXT, {}):
        raise DataError(f"{path}: prepared with its captions in {card[TEXT]['file']} beside the shards (an earlier "
                        f"kgan); prepare it again: captions are now stored in the records")
    return card


def shard_files(root: Path, card: dict) -> list[str]:
    return [str(root / shard["file"]) for shard in card["shards"]]


def worker_files(files: list, num_workers: int, index: int) -> list:
    """The shard files worker `index` of `num_workers` reads: every num_workers-th from its own, as tf.data's
    FILE auto-sharding assigns them (disjoint, together all files). Fewer files than workers is a DataError."""
    if not 0 <= index < num_workers:
        raise ValueError(f"worker index {index} not in 0..{num_workers - 1}")
    if len(files) < num_workers:
        raise DataError(f"{len(files)} shard files for {num_workers} workers: every worker needs its own file; "
                        f"prepare with a smaller data.shard_mb")
    return list(files[index::num_workers])


def encoded_records(root: Path, card: dict | None = None, files: list[str] | None = None) -> tf.data.Dataset:
    """Every record of the shards (or of `files`) as a dict of its `index`, `label` and images still encoded (what a
    shuffle buffer holds: the stored bytes, not decoded floats), in a fixed order."""
    card = card or read_card(root)
    files = shard_files(root, card) if files is None else files
    labels = ("label",) + pairs.stored_labels(card["features"])
    spec = {name: tf.io.FixedLenFeature([], tf.int64) for name in ("index",) + labels}
    spec.update({name: tf.io.FixedLenFeature([], tf.string) for name in card["features"]})
    if TEXT in card:
        spec[TEXT] = tf.io.RaggedFeature(tf.string)
    skipped = tf.constant(np.asarray(card.get("skipped", []), np.int64))

    def parse(serialized):
        example = tf.io.parse_single_example(serialized, spec)
        if card.get("skipped"):  # source positions -> positions in the prepared set
            example["index"] -= tf.searchsorted(skipped, example["index"][None], out_type=tf.int64)[0]
        return example

    cycle = max(1, min(len(files), CYCLE))
    ds = tf.data.Dataset.from_tensor_slices(files).interleave(
        tf.data.TFRecordDataset, cycle_length=cycle, block_length=1,
        num_parallel_calls=cycle, deterministic=True)
    return ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def decoder(card: dict):
    """The map from an encoded record to one with its uint8 images (the card's shapes)."""
    shapes = {name: tuple(shape) for name, shape in card["features"].items()}

    def decode(record):
        return {**record, **{name: decode_image(record[name], card["encoding"], shape) for name, shape in shapes.items()}}

    return decode


def records(root: Path, card: dict | None = None, files: list[str] | None = None) -> tf.data.Dataset:
    """Every record of the shards (or of `files`) decoded, in a fixed order."""
    card = card or read_card(root)
    return encoded_records(root, card, files).map(decoder(card), num_parallel_calls=tf.data.AUTOTUNE)


def shards_labels(root: Path) -> np.ndarray:
    read_card(root)
    return np.load(root / LABELS)


def open_shards(name: str, root: Path) -> Source:
    card = read_card(root)
    shape = tuple(card["features"]["image"])
    return Source(name, records(root, card).map(lambda r: (r["image"], r["label"])), int(card["count"]),
                  {shape: str(root)}, np.load(root / LABELS), records=encoded_records(root, card),
                  decode=decoder(card), files=tuple(shard_files(root, card)), images=len(card["features"]))
