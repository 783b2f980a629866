"""Where a data section's `source` / `target` pairs come from: a `data.transform` of its images, or a
`paired:DIR_A,DIR_B` source that holds them; and the second domain (`image_a`, `label_a`) of an
`unpaired:SOURCE_A,SOURCE_B` source (`kgan.data.unpaired`). TensorFlow-free: config validation and model builders
size and check by it."""

from __future__ import annotations

from kgan.data import transforms, unpaired
from kgan.errors import ConfigError, DataError

PAIRED_SCHEME = "paired:"


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
    return transforms.feature_names(data_cfg.transform)


def has_pairs(data_cfg) -> bool:
    return "source" in feature_names(data_cfg)


def source_shape(data_cfg) -> tuple[int, int, int]:
    """Per-example shape of `source`: a paired source's images are brought to data.resolution and
    data.channels like the targets."""
    if is_paired_source(data_cfg.source):
        return (data_cfg.resolution, data_cfg.resolution, data_cfg.channels)
    return transforms.source_shape(data_cfg.transform, data_cfg)
