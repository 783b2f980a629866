"""Reference points that put a score in context, computed with the same extractor.

`real_halves`: two disjoint halves of the reference set (what a perfect generator would score at
that sample size). `pixel_gaussian`: the seeds' "simple idea" -- every pixel drawn independently
from its own mean and std over the real set -- which matches first and second moments per pixel
but has no structure; a generator should beat it by a wide margin.
"""

from __future__ import annotations

import numpy as np


def real_halves(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    half = n // 2
    return perm[:half], perm[half:2 * half]


def pixel_moments(reference: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and std, accumulated in chunks (50k RGB images stay uint8 in memory)."""
    total = np.zeros(reference.shape[1:])
    squares = np.zeros(reference.shape[1:])
    for i in range(0, len(reference), chunk):
        x = reference[i:i + chunk].astype(np.float64)
        total += x.sum(axis=0)
        squares += (x * x).sum(axis=0)
    mean = total / len(reference)
    return mean, np.sqrt(np.maximum(squares / len(reference) - mean * mean, 0.0))


def pixel_gaussian(reference: np.ndarray, n: int, seed: int = 0, batch_size: int = 1000):
    """Yield `n` uint8 images in batches: per-pixel N(mean, std) of `reference`, clipped, rounded."""
    mean, std = pixel_moments(reference)
    rng = np.random.default_rng(seed)
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        x = mean + std * rng.standard_normal((b, *mean.shape))
        yield np.clip(np.rint(x), 0, 255).astype(np.uint8)
