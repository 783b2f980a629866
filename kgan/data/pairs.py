"""Where a data section's `source` / `target` pairs come from: a `data.transform` of its images, or a
`paired:DIR_A,DIR_B` source that holds them; and the second domain (`image_a`, `label_a`) of an
`unpaired:SOURCE_A,SOURCE_B` source (`kgan.data.unpaired`). A prepared set (`shards:DIR`) of either holds the
same features, each stored image named in its card (`STORED`): a pair's `source` beside the target (`image`, which
is also the `target`), an unpaired example's domain A (`image_a`, its label `label_a`) beside domain B. This module
is the one place that names them. TensorFlow-free: config validation and model builders size and check by it."""

from __future__ import annotations

import json
from pathlib import Path

from kgan.data import transforms, unpaired
from kgan.errors import ConfigError, DataError

PAIRED_SCHEME = "paired:"
SHARDS_SCHEME = "shards:"
#: the images a prepared record stores besides `image`, and the labels stored beside them
STORED = {"paired": ("source",), "unpaired": ("image_a",)}
STORED_LABELS = {"image_a": "label_a"}


def stored_images(data_cfg) -> tuple[str, ...]:
    """The image features preparation stores per example besides `image` (the target, domain B)."""
    if is_paired_source(data_cfg.source):
        return STORED["paired"]
    if is_unpaired_source(data_cfg.source):
        return STORED["unpaired"]
    return ()


def stored_labels(images) -> tuple[str, ...]:
    """The label features stored beside `label` for these stored images."""
    return tuple(STORED_LABELS[name] for name in images if name in STORED_LABELS)


def named(features: dict) -> dict:
    """A prepared record's model-ready features as the source's own named batches have them: a pair's target is
    its `image`."""
    return {**features, "target": features["image"]} if "source" in features else features


def _prepared_features(source: str) -> dict:
    """The card's `features` ({name: shape}) of a prepared set; empty when it has no card yet (opening it says
    why)."""
    card = Path(source[len(SHARDS_SCHEME):]).expanduser() / "card.json"
    return json.loads(card.read_text()).get("features", {}) if card.is_file() else {}


def is_paired_source(source: str) -> bool:
    return source.startswith(PAIRED_SCHEME)


def is_unpaired_source(source: str) -> bool:
    return unpaired.is_unpaired(source)


def check(data_cfg) -> None:
    """ConfigError for a data section that would make pairs twice, or a transform that is not allowed."""
    if is_unpaired_source(data_cfg.source):
        try:
            unpaired.parse(data_cfg.source)
        except DataError as e:
            raise ConfigError(f"data.source: {e}") from None
        if data_cfg.transform:
            raise ConfigError(f"data.transform: an unpaired source's domains are its two sides (SOURCE+DOMAIN for "
                              f"{list(unpaired.DOMAINS)}); leave data.transform empty (got {data_cfg.transform!r})")
    if is_paired_source(data_cfg.source) and data_cfg.transform:
        raise ConfigError(f"data.transform: data.source {data_cfg.source!r} already holds source/target pairs; "
                          f"leave data.transform empty (got {data_cfg.transform!r})")
    if data_cfg.transform:
        transforms.parse(data_cfg.transform, data_cfg)


def feature_names(data_cfg) -> tuple[str, ...]:
    """The features a data section adds to `image` and `label` (empty when it has none): the pairs, or an
    unpaired source's domain A."""
    if is_paired_source(data_cfg.source):
        return ("source", "target")
    if is_unpaired_source(data_cfg.source):
        return ("image_a", "label_a")
    if data_cfg.source.startswith(SHARDS_SCHEME):
        stored = _prepared_features(data_cfg.source)
        if "source" in stored:
            return ("source", "target")
        if "image_a" in stored:
            return ("image_a", "label_a")
    return transforms.feature_names(data_cfg.transform)


def has_pairs(data_cfg) -> bool:
    return "source" in feature_names(data_cfg)


def has_domains(data_cfg) -> bool:
    """Two unpaired domains: an `unpaired:` source, or a prepared set of one."""
    return "image_a" in feature_names(data_cfg)


def source_shape(data_cfg) -> tuple[int, int, int]:
    """Per-example shape of `source`: a paired source's images are brought to data.resolution and
    data.channels like the targets."""
    if is_paired_source(data_cfg.source):
        return (data_cfg.resolution, data_cfg.resolution, data_cfg.channels)
    if data_cfg.source.startswith(SHARDS_SCHEME) and "source" in (stored := _prepared_features(data_cfg.source)):
        return tuple(stored["source"])
    return transforms.source_shape(data_cfg.transform, data_cfg)
