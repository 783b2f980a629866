"""The `text` data feature in `tf.data`: each example's captions (`kgan.data.captions`), one drawn per epoch.

`caption_lists(data_cfg)` holds every example's captions in the source's order (what `data.captions` names:
a file beside the images, or captions generated from measured attributes, computed once per data section).
Named batches carry the example's position in the source (`TEXT_INDEX`) through preprocessing, caching and
shuffling (a prepared set's records carry the captions themselves, `TEXT_LIST`); after repeating, `draw_captions`
replaces it with one of that example's captions, drawn from (seed, position in the stream) like
`data.resize = "crop"`: a fresh caption each epoch, the same on a resume.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import tensorflow as tf

from kgan.data import captions as cap
from kgan.errors import DataError

VOCABULARY = "vocabulary.json"  # beside a prepared set's shards: the characters of its captions
TEXT_INDEX = "text_index"  # the example's position in the source, until a caption replaces it
TEXT_LIST = "text_list"  # a prepared record's captions, until one of them replaces them


def caption_lists(data_cfg) -> list[list[str]] | None:
    """Every example's captions (after `data.limit`), in the source's order; None when `data.captions` is empty."""
    if not data_cfg.captions:
        return None
    # computed once per source, whatever the batching, shuffling, split or transform
    return _caption_lists(data_cfg.one_pass(transform=""))


@functools.lru_cache(maxsize=8)
def _caption_lists(data_cfg):
    source, captions = data_cfg.source, data_cfg.captions
    if source.startswith("shards:"):  # a prepared set: the captions are in its records
        return _stored_captions(Path(source[len("shards:"):]).expanduser())
    if captions == "attributes":
        from kgan.prepare import preprocess_to_uint8

        images, labels = preprocess_to_uint8(data_cfg)  # measured as the model sees them
        return cap.generate(images, labels)
    from kgan.data.sources import open_source, parse_source

    scheme, where = parse_source(source)
    path = cap.beside(Path(where)) if captions == "file" and scheme != "tfds" else None
    if path is None:
        named = captions.partition(":")[2]
        if not named:
            raise DataError("data.captions = 'file': a tfds: source has no folder to hold captions beside it; "
                            "use data.captions = 'file:PATH'")
        path = Path(named).expanduser()
    count = open_source(source, data_cfg.data_dir or None).count
    count = min(count, data_cfg.limit) if data_cfg.limit else count
    if scheme == "folder":
        from kgan.data.folder import list_files

        keys = [p.relative_to(where).as_posix() for p in list_files(where)[0]][:count]
    else:
        keys = [str(i) for i in range(count)]
    return cap.align(cap.read_file(path), keys, path)


def _stored_captions(root: Path) -> list[list[str]]:
    """Every example's captions as a prepared set's records hold them, in index order."""
    from kgan.data import shards

    card = shards.read_card(root)
    if shards.TEXT not in card:
        raise DataError(f"{root}: a prepared set without captions (prepare it with data.captions set)")
    lists = [[]] * card["count"]
    for record in shards.encoded_records(root, card).as_numpy_iterator():
        lists[record["index"]] = [t.decode() for t in record[shards.TEXT]]
    return lists


def vocabulary(data_cfg) -> list[str]:
    """The text encoder's vocabulary: `vocabulary.json` beside a prepared set's shards (adapted when it was
    prepared), else adapted to the data's captions now (the same characters)."""
    import json

    from kgan.data.sources import parse_source

    scheme, where = parse_source(data_cfg.source)
    saved = Path(where) / VOCABULARY if scheme == "shards" else None
    if saved is not None and saved.is_file():
        return json.loads(saved.read_text())
    return cap.vocabulary(caption_lists(data_cfg))


def with_positions(examples: tf.data.Dataset) -> tf.data.Dataset:
    """(example, position in the source) pairs: the position finds the example's captions later."""
    return tf.data.Dataset.zip(examples, tf.data.Dataset.range(2**62))


def draw_captions(data_cfg, seed: int):
    """A map (stream position, features) -> features with `TEXT_INDEX` (or a record's `TEXT_LIST`) replaced by
    `text`: one caption of the example, drawn from (seed, position)."""
    table = None if data_cfg.source.startswith("shards:") else _caption_table(caption_lists(data_cfg))

    def draw(position, features):
        features = dict(features)
        if TEXT_LIST in features:
            captions = features.pop(TEXT_LIST)
            count = tf.size(captions, out_type=tf.int64)
        else:
            flat, starts, counts = table
            index = features.pop(TEXT_INDEX)
            count = counts[index]
            captions = flat[starts[index]:starts[index] + count]
        u = tf.random.stateless_uniform([], seed=tf.stack([tf.constant(seed, tf.int64), position]), dtype=tf.float32)
        features["text"] = captions[tf.minimum(tf.cast(u * tf.cast(count, tf.float32), tf.int64), count - 1)]
        return features

    return draw


def _caption_table(lists: list[list[str]]):
    """Every caption in one flat tensor, with each example's start and count."""
    counts = np.array([len(c) for c in lists], np.int64)
    return (tf.constant([c for group in lists for c in group]),
            tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]])), tf.constant(counts))
