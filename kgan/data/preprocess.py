"""`make_dataset`: a source -> batches ready for a GAN (float32 in [-1, 1], fixed R x R x C)."""

from __future__ import annotations

import tensorflow as tf

from kgan.config import DataConfig
from kgan.data import pairs
from kgan.data.shards import TEXT
from kgan.data.source import Source, format_shape
from kgan.data.sources import open_source
from kgan.errors import DataError

# Measured on the 2-core CI machine: with tf.data autotuning on, about one epoch in three stalls
# ~9.5 s at its start while the autotuner re-models the pipeline. Autotuning is therefore off
# and prefetch uses a small fixed buffer, which is enough to overlap input with a train step.
# (`num_parallel_calls=AUTOTUNE` then means a fixed parallelism of one call per core.)
PREFETCH = 2


def _check_sizes(src: Source, cfg: DataConfig) -> None:
    """With resize = 'none' every image must already be R x R (fail before TensorFlow runs)."""
    shape = src.single_shape()
    if shape is None:
        raise DataError(f"{src.name}: image size varies per example, so data.resize = 'none' "
                        f"cannot be checked; use 'pad' or 'resize'")
    if shape[:2] != (cfg.resolution, cfg.resolution):
        raise DataError(f"{src.name}: images are {format_shape(shape)} ({src.shapes[shape]}) but "
                        f"data.resolution = {cfg.resolution} and data.resize = 'none'; use 'pad' "
                        f"or 'resize'")


def _preprocess(cfg: DataConfig):
    size = cfg.resolution

    def fn(image, label):
        if image.shape[-1] == 1 and cfg.channels == 3:
            image = tf.image.grayscale_to_rgb(image)
        elif image.shape[-1] == 3 and cfg.channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        if cfg.resize == "crop":  # at least R x R, still uint8: the random crop comes after shuffling
            shape = tf.shape(image)
            height, width = tf.maximum(shape[0], size), tf.maximum(shape[1], size)
            image = tf.image.pad_to_bounding_box(image, (height - shape[0]) // 2, (width - shape[1]) // 2,
                                                 height, width)
            return image, tf.cast(label, tf.int32)
        if cfg.resize == "pad":  # on uint8, so padding is black (-1 after scaling)
            image = tf.image.resize_with_crop_or_pad(image, size, size)
        elif cfg.resize == "resize":
            image = tf.image.resize(image, (size, size), method="bilinear")
        return _scaled(image, cfg), tf.cast(label, tf.int32)

    return fn


def _scaled(image, cfg: DataConfig):
    image = tf.cast(image, tf.float32) / 127.5 - 1.0
    return tf.ensure_shape(image, (cfg.resolution, cfg.resolution, cfg.channels))


def _random_crops(cfg: DataConfig, seed: int):
    """`data.resize = "crop"`: every image of an example (a pair's both, an unpaired example's two) cropped alike to R x R at a place drawn
    from (seed, the example's position in the repeated stream): fresh crops each epoch, the same on a resume."""
    shape = (cfg.resolution, cfg.resolution, cfg.channels)

    def crop(index, example):
        place = tf.stack([tf.constant(seed, tf.int64), index])
        cut = lambda image: _scaled(tf.image.stateless_random_crop(image, shape, place), cfg)  # noqa: E731
        if isinstance(example, dict):  # every image of the example; labels and text positions stay
            return {k: cut(v) if v.shape.rank == 3 else v for k, v in example.items()}
        return cut(example[0]), example[1]

    return crop


def _options(src: Source) -> tf.data.Options:
    options = tf.data.Options()
    options.autotune.enabled = False  # see PREFETCH
    # Under a multi-worker strategy each worker reads its own shard files of a prepared source (FILE: worker i the
    # files `shards.worker_files` gives it) when there are enough of them; other sources are single files (IDX,
    # npz) or folders that FILE sharding cannot split, so every worker reads them and keeps its share of elements.
    policy = tf.data.experimental.AutoShardPolicy
    options.experimental_distribute.auto_shard_policy = (
        policy.FILE if src.records is not None and len(src.files) >= distribute_workers() else policy.DATA)
    return options


def distribute_workers() -> int:
    """Workers of the TF_CONFIG cluster (1 without one)."""
    from kgan.distribute import cluster_size

    return cluster_size()


def memory_cache(cfg: DataConfig, count: int, features: int = 1) -> tuple[bool, str]:
    """Whether the decoded float32 examples of a split are cached in memory (`data.cache` and they fit in
    `data.cache_mb`), and a line that says so."""
    mb = count * features * cfg.resolution ** 2 * cfg.channels * 4 / 2**20
    if not cfg.cache:
        return False, "in-memory cache off (data.cache = false): streaming every epoch"
    if mb <= cfg.cache_mb:
        return True, f"in-memory cache: {mb:.0f} MB of decoded examples <= data.cache_mb = {cfg.cache_mb}"
    return False, f"no in-memory cache: {mb:.0f} MB of decoded examples > data.cache_mb = {cfg.cache_mb}; streaming"


def _record_elements(cfg: DataConfig, named: bool):
    """The map that makes a prepared source's decoded records model-ready: what `_elements` makes of the source
    it was prepared from (every stored image preprocessed, its labels, a pair's `target`; with captions the
    example's captions, `TEXT_LIST`, from which `draw_captions` draws)."""
    preprocess = _preprocess(cfg)

    def fn(record):
        image, label = preprocess(record["image"], record["label"])
        if not named:
            return image, label
        features = {"image": image, "label": label}
        for name, value in record.items():
            if name in ("index", "image", "label", TEXT):
                continue
            features[name] = preprocess(value, 0)[0] if value.dtype == tf.uint8 else tf.cast(value, tf.int32)
        if cfg.captions:
            from kgan.data.text import TEXT_LIST

            if TEXT not in record:
                raise DataError(f"{cfg.source}: data.captions = {cfg.captions!r} but the set was prepared without "
                                f"captions; prepare it with data.captions set")
            features[TEXT_LIST] = record[TEXT]
        return pairs.named(features)

    return fn


def _elements(src: Source, cfg: DataConfig, named: bool):
    """The raw examples and the map that makes them model-ready: `(image, label)`, or with `named` a dict in
    which a paired source's images come along as `source` (its own images are also the `target`) and an unpaired
    source's domain A as `image_a` / `label_a` (domain B is `image` / `label`)."""
    preprocess = _preprocess(cfg)
    if not named:
        return src.dataset, preprocess
    if src.domain_a is not None:
        def unpaired(b, a):
            image, label = preprocess(*b)
            image_a, label_a = preprocess(*a)
            return {"image": image, "label": label, "image_a": image_a, "label_a": label_a}

        return tf.data.Dataset.zip(src.dataset, src.domain_a.dataset), unpaired
    if src.source_images is None and cfg.captions:  # the text feature (kgan.data.text)
        from kgan.data.text import TEXT_INDEX, with_positions

        return with_positions(src.dataset), lambda example, position: {
            **dict(zip(("image", "label"), preprocess(*example))), TEXT_INDEX: position}
    if src.source_images is None:
        return src.dataset, lambda image, label: dict(zip(("image", "label"), preprocess(image, label)))

    def pair(target, source):
        image, label = preprocess(*target)
        return {"image": image, "label": label, "source": preprocess(*source)[0], "target": image}

    return tf.data.Dataset.zip(src.dataset, src.source_images.dataset), pair


def make_dataset(data_cfg: DataConfig, seed: int = 0, repeat: bool = True, split: str = "train",
                 named: bool = False, report=None) -> tf.data.Dataset:
    """Batches `(float32 [B,R,R,C] in [-1, 1], int32 [B])`; the last partial batch is dropped.

    `split`: "train" (all but the last `data.holdout` fraction) or "holdout" (that fraction).
    `named`: batches of dicts `{"image", "label"}`, plus `source` and `target` for a paired source, `image_a` and
    `label_a` for an unpaired one, `text` (one caption of the example) with `data.captions`.
    `report`: called with the line that says whether the split is cached in memory or streamed (`memory_cache`):
    training writes it to its log."""
    src = open_source(data_cfg.source, data_cfg.data_dir or None)
    if data_cfg.resize == "none":
        _check_sizes(src, data_cfg)
        for other in (src.source_images, src.domain_a):
            if other is not None:
                _check_sizes(other, data_cfg)
    count = min(src.count, data_cfg.limit) if data_cfg.limit else src.count
    if count < data_cfg.batch_size:
        raise DataError(f"{src.name}: only {count} examples, fewer than one batch of "
                        f"data.batch_size = {data_cfg.batch_size}")
    held = int(count * data_cfg.holdout)
    if split not in ("train", "holdout"):
        raise ValueError(f"split must be 'train' or 'holdout', got {split!r}")
    if split == "holdout" and held < data_cfg.batch_size:
        raise DataError(f"{src.name}: data.holdout = {data_cfg.holdout} keeps {held} examples, fewer than one "
                        f"batch of {data_cfg.batch_size}")
    start, stop = (count - held, count) if split == "holdout" else (0, count - held)
    cache, line = memory_cache(data_cfg, stop - start, src.images)
    if report is not None:
        report(f"{split} split, {stop - start} examples: {line}")
    if src.records is not None:  # by the stored index: right on any subset of the files
        ds = src.records.filter(lambda r: (r["index"] >= start) & (r["index"] < stop))
        record_preprocess = _record_elements(data_cfg, named)
        preprocess = lambda record: record_preprocess(src.decode(record))  # noqa: E731
        if data_cfg.shuffle_buffer and not cache:  # the buffer holds encoded records: its memory is the stored bytes
            ds = ds.shuffle(data_cfg.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    else:
        examples, preprocess = _elements(src, data_cfg, named)
        ds = examples.skip(start).take(stop - start)
    ds = ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if data_cfg.shuffle_buffer and (cache or src.records is None):
        ds = ds.shuffle(data_cfg.shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    if data_cfg.resize == "crop":
        ds = ds.enumerate().map(_random_crops(data_cfg, seed), num_parallel_calls=tf.data.AUTOTUNE)
    if named and data_cfg.captions:
        from kgan.data.text import draw_captions

        ds = ds.enumerate().map(draw_captions(data_cfg, seed), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(data_cfg.batch_size, drop_remainder=True).prefetch(PREFETCH)
    return ds.with_options(_options(src))
