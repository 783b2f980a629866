"""Features of real data, computed once: kept in this process and on disk, keyed by what they depend on.

A feature pass over a reference set (10,000 to 50,000 images, streamed: `kgan.metrics.reference`) costs more than
every metric computed from it, and the same set is scored again and again: the final evaluation, each point of the
training-time metric history, per-class FID, each benchmark row. The key is what the images are (`Reference.key`:
an array's content digest, a prepared set's checksum with the sample's size and seed, so a key never needs the
images read), the extractor's identity (`FeatureExtractor.identity`: a digest of its weights, not its path or file
time, so a retrained or replaced classifier never reads the old features), its resize, and the `variant` of the set
(the real images, or a baseline drawn from them with its seed). A file whose stored key or row count does not match
is recomputed and replaced; files are written to a temporary path and renamed.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from kgan.errors import DataError
from kgan.metrics import baselines, stats
from kgan.metrics.reference import Reference, as_reference

#: Feature sets kept in memory, most recent last (a 50,000 x 2048 Inception set is 400 MB: keep few).
MEMORY_ENTRIES = 4
_memory: OrderedDict[str, dict] = OrderedDict()


def key(extractor, reference, variant: str = "real") -> str:
    return stats.cache_key(extractor.identity, extractor.details.get("resize"), variant, as_reference(reference).key)


def _path(cache_dir, extractor, variant: str, n: int, digest: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", variant).strip("-")
    return Path(cache_dir) / f"features-{extractor.name}-{slug}-{n}-{digest}.npz"


def _valid(found: dict | None, digest: str, n: int, real: bool) -> bool:
    return (found is not None and str(found.get("key", "")) == digest and "features" in found
            and len(found["features"]) == n and ("probs" not in found or len(found["probs"]) == n)
            and (not real or all(k in found for k in REAL_EXTRAS)))


#: What a pass over the real images keeps besides features: each row's label and index (the position in the data
#: set, for fetching an image a row stands for) and the per-pixel moments (the pixel-gaussian reference point).
REAL_EXTRAS = ("labels", "index", "pixel_mean", "pixel_std")


def _real_pass(extractor, reference: Reference, batch_size: int, label: str, progress: bool) -> dict:
    """One streamed pass over the reference: features and what `REAL_EXTRAS` names, rows in index order; one batch
    of images at a time."""
    labels, index, moments = [], [], baselines.PixelMoments()

    def images():
        for batch in reference.batches(batch_size):
            labels.append(batch["label"])
            index.append(batch["index"])
            moments.update(batch["image"])
            yield batch["image"]

    made = stats.extract(extractor, images(), reference.count, label=label, progress=progress)
    if made["n"] != reference.count:
        raise DataError(f"reference: {made['n']} images read, {reference.count} expected (the data changed?)")
    mean, std = moments.result()
    order = np.argsort(np.concatenate(index), kind="stable")  # index order: the rows whatever the shard layout
    rows = {"features": made["features"], "probs": made["probs"], "labels": np.concatenate(labels),
            "index": np.concatenate(index)}
    return {**{k: None if v is None else v[order] for k, v in rows.items()}, "pixel_mean": mean, "pixel_std": std}


def features_of(extractor, reference, *, variant: str = "real",
                batches: Callable[[], Iterable[np.ndarray]] | None = None, cache_dir: str | Path | None = None,
                batch_size: int = 250, progress: bool = True, label: str = "reference features") -> dict:
    """{"features" [N,D] float32, "probs" [N,K] or None} of the real images `reference` (a `Reference` or an
    array), with `REAL_EXTRAS`; or of `batches()`, N images derived from them and named by `variant`. From memory,
    else from `cache_dir`, else computed in one streamed pass (and stored in both)."""
    reference = as_reference(reference)
    n, real = reference.count, batches is None
    digest = key(extractor, reference, variant)
    if digest in _memory:
        _memory.move_to_end(digest)
        return _memory[digest]
    path = _path(cache_dir, extractor, variant, n, digest) if cache_dir else None
    found = stats.load_cached(path) if path else None
    if not _valid(found, digest, n, real):
        if real:
            found = _real_pass(extractor, reference, batch_size, label, progress)
        else:
            made = stats.extract(extractor, batches(), n, label=label, progress=progress)
            found = {"features": made["features"], "probs": made["probs"]}
        found["key"] = np.array(digest)
        if path:
            stats.save_cached(path, found)
    result = {k: v for k, v in found.items() if k != "key"}
    result.setdefault("probs", None)
    _memory[digest] = result
    while len(_memory) > MEMORY_ENTRIES:
        _memory.popitem(last=False)
    return result


def forget() -> None:
    """Empty the in-memory store (the disk cache stays): what a new process starts with."""
    _memory.clear()
