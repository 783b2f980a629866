"""Features of real data, computed once: kept in this process and on disk, keyed by what they depend on.

A feature pass over a reference set (10,000 to 50,000 images) costs more than every metric computed from it, and
the same set is scored again and again: the final evaluation, each point of the training-time metric history, the
gallery's nearest-neighbour search, each benchmark row. The key is the images' content digest, the extractor's
identity (`FeatureExtractor.identity`: a digest of its weights, not its path or file time, so a retrained or
replaced classifier never reads the old features), its resize, and the `variant` of the set (the real images, or
a baseline drawn from them with its seed). A file whose stored key or row count does not match is recomputed and
replaced; files are written to a temporary path and renamed.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from kgan.metrics import stats

#: Feature sets kept in memory, most recent last (a 50,000 x 2048 Inception set is 400 MB: keep few).
MEMORY_ENTRIES = 4
_memory: OrderedDict[str, dict] = OrderedDict()


def key(extractor, images: np.ndarray, variant: str = "real") -> str:
    return stats.cache_key(extractor.identity, extractor.details.get("resize"), variant, images)


def _path(cache_dir, extractor, variant: str, n: int, digest: str) -> Path:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", variant).strip("-")
    return Path(cache_dir) / f"features-{extractor.name}-{slug}-{n}-{digest}.npz"


def _valid(found: dict | None, digest: str, n: int) -> bool:
    return (found is not None and str(found.get("key", "")) == digest and "features" in found
            and len(found["features"]) == n and ("probs" not in found or len(found["probs"]) == n))


def features_of(extractor, images: np.ndarray, *, variant: str = "real",
                batches: Callable[[], Iterable[np.ndarray]] | None = None, cache_dir: str | Path | None = None,
                batch_size: int = 250, progress: bool = True, label: str = "reference features") -> dict:
    """{"features" [N,D] float32, "probs" [N,K] or None} of `images` (or of `batches()`, N images derived from
    them and named by `variant`), from memory, else from `cache_dir`, else computed (and stored in both)."""
    n = len(images)
    digest = key(extractor, images, variant)
    if digest in _memory:
        _memory.move_to_end(digest)
        return _memory[digest]
    path = _path(cache_dir, extractor, variant, n, digest) if cache_dir else None
    found = stats.load_cached(path) if path else None
    if not _valid(found, digest, n):
        made = stats.extract(extractor, batches() if batches else stats.array_batches(images, batch_size), n,
                             label=label, progress=progress)
        found = {"key": np.array(digest), "features": made["features"], "probs": made["probs"]}
        if path:
            stats.save_cached(path, found)
    result = {"features": found["features"], "probs": found.get("probs")}
    _memory[digest] = result
    while len(_memory) > MEMORY_ENTRIES:
        _memory.popitem(last=False)
    return result


def forget() -> None:
    """Empty the in-memory store (the disk cache stays): what a new process starts with."""
    _memory.clear()
