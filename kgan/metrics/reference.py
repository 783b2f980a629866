"""The real side of an evaluation: which real images, read in batches, never held whole.

A data set of a million images cannot be one array, and its features need not be either: the reference is a
seeded uniform sample of `n` of the set's images (all of them when the set has no more), streamed batch by batch
through the extractor; only their features (n x D floats), labels and per-pixel moments are kept
(`kgan.metrics.feature_cache`). A sample rather than the first n: a folder sorted by class would otherwise give a
reference of its first classes only. The selection is fixed by (data, n, seed), so it is the same in every
evaluation and the cached features stay valid; `key` names it without reading an image. Pixel-space metrics fetch
only the images they look at (`images_at`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterator

import numpy as np

from kgan.errors import DataError
from kgan.metrics import stats


@dataclass(frozen=True)
class Reference:
    """`count` real images of one `shape`, chosen by `selection` (JSON for the report) and named by `key`.

    `read(batch_size, indices)` yields {"image": uint8 NHWC, "label": int64, "index": int64} batches of the chosen
    images (`indices` None), or of those whose `index` is in `indices`; every call is a new pass. `chosen`: the
    sorted indices of the chosen images (None: 0..count-1).
    """

    count: int
    shape: tuple
    key: str
    selection: dict
    read: Callable[[int, np.ndarray | None], Iterator[dict]]
    chosen: np.ndarray | None = None

    def index_at(self, positions) -> np.ndarray:
        """The `index` of the chosen images at `positions` (0..count-1, in index order)."""
        positions = np.asarray(positions, np.int64)
        return positions if self.chosen is None else self.chosen[positions]

    def map_images(self, fn: Callable[[np.ndarray], np.ndarray], shape: tuple, name: str) -> "Reference":
        """The same images through `fn` (a uint8 batch -> uint8 batch of `shape`), named `name` besides."""
        def read(batch_size, indices):
            for batch in self.read(batch_size, indices):
                yield {**batch, "image": fn(batch["image"])}

        return replace(self, shape=tuple(shape), key=stats.cache_key(self.key, name), read=read)

    def batches(self, batch_size: int) -> Iterator[dict]:
        return self.read(batch_size, None)

    def image_batches(self, batch_size: int) -> Iterator[np.ndarray]:
        return (batch["image"] for batch in self.batches(batch_size))

    def images_at(self, indices, batch_size: int = 256) -> np.ndarray:
        """uint8 images of the chosen `indices` (the `index` the batches carry), in that order."""
        indices = np.asarray(indices, np.int64)
        found = {}
        for batch in self.read(batch_size, np.unique(indices)):
            found.update(zip(batch["index"].tolist(), batch["image"]))
        missing = sorted(set(indices.tolist()) - set(found))
        if missing:
            raise DataError(f"reference: no image with index {missing[0]} among the chosen {self.count}")
        return np.stack([found[i] for i in indices.tolist()]) if len(indices) else \
            np.zeros((0, *self.shape), np.uint8)


def from_array(images: np.ndarray, labels: np.ndarray | None = None) -> Reference:
    """In-memory images (named by their content and labels, as a changed pixel must invalidate cached features)."""
    images = np.asarray(images)
    if images.ndim != 4 or images.dtype != np.uint8 or len(images) < 4:
        raise DataError(f"reference images must be uint8 NHWC (at least 4), got {images.dtype} {images.shape}")
    given = labels
    labels = np.full(len(images), -1, np.int64) if labels is None else np.asarray(labels, np.int64)

    def read(batch_size, indices):
        index = np.arange(len(images)) if indices is None else np.asarray(indices, np.int64)
        for i in range(0, len(index), batch_size):
            part = index[i:i + batch_size]
            yield {"image": images[part], "label": labels[part], "index": part}

    named = stats.cache_key(images) if given is None else stats.cache_key(images, labels)
    return Reference(len(images), tuple(images.shape[1:]), named,
                     {"images": len(images), "of": len(images), "selection": "all (array)"}, read)


def chosen(total: int, n: int, seed: int) -> np.ndarray | None:
    """The sorted indices of a seeded uniform sample of `n` of `total` (None: all of them)."""
    if not n or n >= total:
        return None
    return np.sort(np.random.default_rng(seed).choice(total, n, replace=False))


def from_source(source: str, data_dir: str | None = None, *, n: int = 0, seed: int = 0, digest: str) -> Reference:
    """`n` images (0: all) of a `kgan.data` source, a seeded sample; `digest` says what the data is (a prepared set's
    card checksum). A prepared set (`shards:`) is filtered by index before decoding: a pass decodes only the chosen
    images."""
    import tensorflow as tf

    from kgan.data.sources import open_source

    src = open_source(source, data_dir)
    shape = src.single_shape()
    picks = chosen(src.count, n, seed)
    count = src.count if picks is None else len(picks)
    selection = {"images": int(count), "of": int(src.count),
                 "selection": "all" if picks is None else f"seeded uniform sample (seed {seed})"}

    def read(batch_size, indices):
        keep = picks if indices is None else indices
        ds, decode = indexed_records(src)
        if keep is not None:
            mask = np.zeros(src.count, bool)
            mask[keep] = True
            mask = tf.constant(mask)

            def chosen_one(record):
                return tf.gather(mask, record["index"])

            ds = ds.filter(chosen_one)

        def decoded(record):
            record = decode(record) if decode else record
            return {"image": record["image"], "label": record["label"], "index": record["index"]}

        ds = ds.map(decoded, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        yield from ds.batch(batch_size).prefetch(1).as_numpy_iterator()

    return Reference(int(count), shape or (), stats.cache_key("source", digest, src.count, n, seed), selection, read,
                     picks)


def from_recipe(recipe: dict) -> Reference:
    """`from_source` of a JSON recipe {source, data_dir, n, seed, digest} (the pipeline's reference, rebuilt by a
    multi-worker run's workers)."""
    return from_source(recipe["source"], recipe["data_dir"], n=recipe["n"], seed=recipe["seed"],
                       digest=recipe["digest"])


def indexed_records(src):
    """(records, decode) of an opened `kgan.data` source: dicts with `index`, `label` and `image`, which `decode`
    turns uint8 (a prepared set's images are still encoded, so a filter or a shuffle buffer before it holds bytes;
    None: already decoded)."""
    if src.records is not None:
        return src.records, src.decode

    def record(index, example):
        return {"index": index, "image": example[0], "label": example[1]}

    return src.dataset.enumerate().map(record), None


def as_reference(reference, data_dir: str | None = None) -> Reference:
    """A `Reference` from itself, an array, or a source string (a prepared set streamed whole; any other source
    loaded as it always was)."""
    if isinstance(reference, Reference):
        return reference
    if isinstance(reference, str):
        from kgan.data import load_arrays
        from kgan.data.sources import parse_source

        scheme, where = parse_source(reference)
        if scheme == "shards":
            from kgan.data.shards import read_card

            return from_source(reference, data_dir, digest=read_card(where)["sha256"])
        return from_array(*load_arrays(reference, data_dir))
    return from_array(reference)
