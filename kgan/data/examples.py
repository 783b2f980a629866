"""What preparation writes: a source's model-ready uint8 examples by position range, streamed, encoded.

A `folder:` source is read straight from its file list (no up-front scan): each range's files are read and decoded
in parallel in tf.data, preprocessed like training data (`data.resize`, `data.channels`), and a file that cannot
be decoded (or, with `data.resize = "none"`, has the wrong size) fails the preparation naming it, or with
`data.on_error = "skip"` is left out and recorded. Other sources go through `make_dataset` (in-memory sources
skip to a range cheaply; a `tfds:` data set is better read in its own format, `data.format = "source"`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgan import io
from kgan.config import DataConfig
from kgan.data import pairs, shards
from kgan.data.folder import checked_files
from kgan.data.preprocess import _preprocess, _random_crops, make_dataset
from kgan.data.sources import open_source, parse_source
from kgan.errors import DataError

BATCH = 256  # examples per read from the preparation's pipeline
SEED = 0  # `data.resize = "crop"` cuts each example once at preparation, from (SEED, its position)


def _uint8(image: tf.Tensor) -> tf.Tensor:
    """[-1, 1] -> uint8, as `kgan.imageio.to_uint8` rounds (half to even, in float32)."""
    return tf.cast(tf.clip_by_value(tf.round((image + 1.0) * 127.5), 0, 255), tf.uint8)


@functools.lru_cache(maxsize=4)
def _folder_files(root: Path, limit: int) -> tuple[tuple[str, ...], tuple[int, ...]]:
    files, labels = checked_files(root)
    if limit:
        files, labels = files[:limit], labels[:limit]
    return tuple(map(str, files)), tuple(labels)


def _folder_root(data_cfg: DataConfig) -> Path | None:
    scheme, where = parse_source(data_cfg.source)
    return where if scheme == "folder" else None


def example_count(data_cfg: DataConfig) -> int:
    root = _folder_root(data_cfg)
    if root is not None:
        return len(_folder_files(root, data_cfg.limit)[0])
    count = open_source(data_cfg.source, data_cfg.data_dir or None).count
    return min(count, data_cfg.limit) if data_cfg.limit else count


def _problem(path: str, data_cfg: DataConfig) -> str:
    """Why a file is refused, found by decoding it alone ('' when it is fine)."""
    try:
        image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    except tf.errors.OpError as e:
        return "cannot decode image (" + re.sub(r"\{\{.*?\}\}|\[Op:.*", "", e.message).strip() + ")"
    h, w = image.shape[:2]
    if data_cfg.resize == "none" and (h, w) != (data_cfg.resolution, data_cfg.resolution):
        return (f"image is {h}x{w} but data.resolution = {data_cfg.resolution} and data.resize = 'none'; use "
                f"'pad' or 'resize'")
    return ""


class ShardExamples:
    """The examples of positions [start, stop): `items` yields dicts (`position`, `labels` {name: int}, `images`
    {name: uint8 array}, `encoded` {name: bytes}, `sums` of `image`'s pixels) holding every stored feature of the
    example (`kgan.data.pairs.stored_images`); after it ran, `skipped` lists what `data.on_error = "skip"` left
    out."""

    def __init__(self, data_cfg: DataConfig, start: int, stop: int, encoding: str):
        self.cfg, self.start, self.stop, self.encoding = data_cfg, start, stop, encoding
        self.skipped: list[dict] = []
        self._digest = hashlib.sha256()
        self.root = _folder_root(data_cfg)

    def source_digest(self) -> str:
        """sha256 of this range's source files (a folder's names and bytes), else of the source's files."""
        return self._digest.hexdigest() if self.root is not None else source_files_digest(self.cfg)

    @property
    def items(self):
        return self._folder_items() if self.root is not None else self._generic_items()

    def _generic_items(self):
        """The source's named examples (a pair's both images, both domains) as training reads them, in order;
        captions are stored apart (`kgan.prepare`), so none is drawn here."""
        images = ("image",) + pairs.stored_images(self.cfg)
        labels = ("label",) + pairs.stored_labels(images)
        ds = make_dataset(self.cfg.one_pass(captions=""), repeat=False, named=True).unbatch()
        ds = ds.skip(self.start).take(self.stop - self.start).enumerate(self.start)
        yield from self._encoded(ds.map(lambda i, ex: (i, {k: _uint8(ex[k]) for k in images},
                                                       {k: ex[k] for k in labels}),
                                        num_parallel_calls=tf.data.AUTOTUNE))

    def _encoded(self, ds, contents=False):
        """Encoded in parallel, with `image`'s pixel sums (on the [0, 1] scale) computed in the graph; read in
        batches, since a Python step per example would be the preparation's bottleneck."""
        encoding = self.encoding

        def encode(i, images, labels, *rest):
            pixels = tf.cast(images["image"], tf.float64) / 255.0
            sums = tf.stack([tf.reduce_sum(pixels), tf.reduce_sum(pixels * pixels)])
            return (i, images, labels, {k: shards.encode_image(v, encoding) for k, v in images.items()}, sums, *rest)

        ds = ds.map(encode, num_parallel_calls=tf.data.AUTOTUNE).batch(BATCH)
        for position, images, labels, data, sums, *rest in ds.as_numpy_iterator():
            for k in range(len(position)):
                if contents:
                    self._digest.update(rest[0][k])
                    self._digest.update(rest[1][k])
                yield {"position": int(position[k]), "labels": {name: int(v[k]) for name, v in labels.items()},
                       "images": {name: v[k] for name, v in images.items()},
                       "encoded": {name: v[k] for name, v in data.items()}, "sums": sums[k]}

    def _folder_items(self):
        cfg = self.cfg
        files, labels = _folder_files(self.root, cfg.limit)
        paths, labels = files[self.start:self.stop], labels[self.start:self.stop]
        preprocess, crop = _preprocess(cfg), _random_crops(cfg, SEED)
        size = cfg.resolution

        def load(position, path, label):
            contents = tf.io.read_file(path)
            image = tf.ensure_shape(tf.io.decode_image(contents, channels=3, expand_animations=False), (None, None, 3))
            if cfg.resize == "none":
                tf.debugging.assert_equal(tf.shape(image)[:2], [size, size])
            image, label = preprocess(image, label)
            if cfg.resize == "crop":
                image, label = crop(position, (image, label))
            return (position, {"image": _uint8(image)}, {"label": label}, tf.strings.regex_replace(path, r".*/", ""),
                    contents)

        ds = tf.data.Dataset.from_tensor_slices((tf.range(self.start, self.stop, dtype=tf.int64), list(paths),
                                                 np.asarray(labels, np.int64)))
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        if cfg.on_error == "skip":
            ds = ds.ignore_errors()
        done = set()
        try:
            for item in self._encoded(ds, contents=True):
                done.add(item["position"])
                yield item
        except tf.errors.OpError as e:  # in the batch after the last one written
            for path in paths[len(done):]:
                if problem := _problem(path, cfg):
                    raise DataError(f"{path}: {problem} (data.on_error = 'skip' leaves such files out)") from None
            raise DataError(f"{self.root}: {e.message.splitlines()[0]}") from None
        for position in range(self.start, self.stop):
            if position not in done:
                path = paths[position - self.start]
                self.skipped.append({"position": position, "file": path, "reason": _problem(path, cfg)})


def shard_examples(data_cfg: DataConfig, start: int, stop: int, encoding: str) -> ShardExamples:
    return ShardExamples(data_cfg, start, stop, encoding)


def encoded_bytes(data_cfg: DataConfig, n: int, encoding: str) -> int:
    """Mean stored bytes of the first `n` examples (what sizes the shards), plus the record's own overhead."""
    sizes = [sum(len(v) for v in item["encoded"].values()) for item in shard_examples(data_cfg, 0, n, encoding).items]
    return int(np.mean(sizes)) + 32 if sizes else 1


@functools.lru_cache(maxsize=8)
def source_files_digest(data_cfg: DataConfig) -> str:
    """sha256 of what a non-folder source reads: its files (an IDX pair, an npz, a pair of folders' files) in name
    order, or a TFDS data set's name, version and split sizes."""
    scheme, where = parse_source(data_cfg.source)
    digest = hashlib.sha256(data_cfg.source.encode())
    if scheme == "tfds":
        import tensorflow_datasets as tfds

        info = tfds.builder(where.partition(":")[0], data_dir=data_cfg.data_dir or None).info
        digest.update(f"{info.full_name} {dict((k, v.num_examples) for k, v in info.splits.items())}".encode())
        return digest.hexdigest()
    roots = where if isinstance(where, tuple) else (where,) if isinstance(where, Path) else ()
    for root in roots:
        for path in sorted(root.rglob("*")) if root.is_dir() else [root]:
            if path.is_file():
                digest.update(path.name.encode())
                io.hash_file(digest, path)
    return digest.hexdigest()


def streamed_card(data_cfg: DataConfig) -> dict:
    """The card of a source read in its own format (`data.format = "source"`): one batched pass, nothing kept."""
    ds = make_dataset(data_cfg.one_pass(), repeat=False).unbatch().batch(256)
    count, hist, total, squares, unlabelled, shape = 0, {}, 0.0, 0.0, 0, None
    for x, y in ds.map(lambda x, y: (_uint8(x), y)).as_numpy_iterator():
        count, shape = count + len(x), list(x.shape[1:])
        pixels = x.astype(np.float64) / 255.0
        total, squares = total + pixels.sum(), squares + (pixels * pixels).sum()
        unlabelled += int((y < 0).sum())
        for label, n in zip(*np.unique(y[y >= 0], return_counts=True)):
            hist[str(int(label))] = hist.get(str(int(label)), 0) + int(n)
    n = max(1, count * int(np.prod(shape or [1])))
    mean = total / n
    return {"source": data_cfg.source, "format": "source", "count": count, "shape": shape, "num_classes": len(hist),
            "label_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))), "unlabelled": unlabelled,
            "pixel_mean": mean, "pixel_std": max(0.0, squares / n - mean * mean) ** 0.5,
            "source_sha256": source_files_digest(data_cfg),
            "preprocessing": {"resolution": data_cfg.resolution, "channels": data_cfg.channels,
                              "resize": data_cfg.resize, "limit": data_cfg.limit}}
