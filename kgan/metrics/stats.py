"""Shared feature statistics: streaming mean/covariance, batched feature passes, an on-disk cache.

Features are computed batch by batch so that 50,000 generated images never sit in memory as
images; only their D-dimensional features (and class probabilities) are kept, and the Gaussian
fit FID needs is accumulated in float64 with Chan's pairwise update, which stays accurate where
the textbook `E[xx^T] - mu mu^T` formula cancels catastrophically.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np

from kgan.io import atomic_path
from kgan.progress import Progress


class RunningStats:
    """Mean and covariance of a stream of feature batches (float64, unbiased covariance)."""

    def __init__(self):
        self.n = 0
        self.mean = None
        self._m2 = None

    def update(self, feats: np.ndarray) -> None:
        x = np.asarray(feats, np.float64)
        if len(x) == 0:
            return
        b_mean = x.mean(axis=0)
        xc = x - b_mean
        b_m2 = xc.T @ xc
        if self.n == 0:
            self.n, self.mean, self._m2 = len(x), b_mean, b_m2
            return
        total = self.n + len(x)
        delta = b_mean - self.mean
        self.mean = self.mean + delta * (len(x) / total)
        self._m2 = self._m2 + b_m2 + np.outer(delta, delta) * (self.n * len(x) / total)
        self.n = total

    @property
    def cov(self) -> np.ndarray:
        return self._m2 / max(self.n - 1, 1)


def extract(extractor, batches: Iterable[np.ndarray], total: int, *, keep_features: bool = True,
            keep_images: int = 0, label: str = "features", progress: bool = True) -> dict:
    """One pass of `extractor` over uint8 batches.

    Returns `stats` (RunningStats), `features` (float32 [N,D] or None), `probs` ([N,K] or None),
    `images` (the first `keep_images` images, for pixel-space metrics) and `n`.
    """
    stats, feats, probs, kept = RunningStats(), [], [], []
    bar = Progress(label, total, enabled=progress)
    n_kept = 0
    for batch in batches:
        f, p = extractor.run(batch)
        stats.update(f)
        if keep_features:
            feats.append(f.astype(np.float32))
        if p is not None:
            probs.append(p.astype(np.float32))
        if n_kept < keep_images:
            kept.append(batch[: keep_images - n_kept])
            n_kept += len(kept[-1])
        bar.update(len(batch))
    return {
        "n": stats.n,
        "stats": stats,
        "features": np.concatenate(feats) if feats else None,
        "probs": np.concatenate(probs) if probs else None,
        "images": np.concatenate(kept) if kept else None,
    }


def array_batches(images: np.ndarray, batch_size: int):
    for i in range(0, len(images), batch_size):
        yield images[i:i + batch_size]


def cache_key(*parts) -> str:
    """A short stable hash of strings and arrays (arrays by content, so edits invalidate)."""
    h = hashlib.sha1()
    for part in parts:
        if isinstance(part, np.ndarray):
            h.update(str((part.shape, part.dtype.str)).encode())
            h.update(np.ascontiguousarray(part).data)
        else:
            h.update(repr(part).encode())
    return h.hexdigest()[:16]


def load_cached(path: Path) -> dict | None:
    if not path.exists():
        return None
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def save_cached(path: Path, arrays: dict) -> None:
    """Write an npz atomically; None entries are left out and read back as missing."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: v for k, v in arrays.items() if v is not None})
