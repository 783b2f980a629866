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


class PixelMoments:
    """Per-pixel sums of a stream of uint8 batches (float64): its mean and std without holding the images."""

    def __init__(self):
        self.n, self.total, self.squares = 0, 0.0, 0.0

    def update(self, batch: np.ndarray) -> None:
        x = np.asarray(batch, np.float64)
        self.n += len(x)
        self.total = self.total + x.sum(axis=0)
        self.squares = self.squares + (x * x).sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        mean = self.total / self.n
        return mean, np.sqrt(np.maximum(self.squares / self.n - mean * mean, 0.0))


def pixel_moments(reference: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and std, accumulated in chunks (50k RGB images stay uint8 in memory)."""
    moments = PixelMoments()
    for i in range(0, len(reference), chunk):
        moments.update(reference[i:i + chunk])
    return moments.result()


def pixel_gaussian(reference: np.ndarray, n: int, seed: int = 0, batch_size: int = 1000):
    """Yield `n` uint8 images in batches: per-pixel N(mean, std) of `reference`, clipped, rounded."""
    return gaussian_draws(*pixel_moments(reference), n, seed, batch_size)


def gaussian_draws(mean: np.ndarray, std: np.ndarray, n: int, seed: int = 0, batch_size: int = 1000):
    """`n` uint8 images in batches, each pixel drawn from N(mean, std) (per-pixel moments), clipped, rounded."""
    rng = np.random.default_rng(seed)
    for start in range(0, n, batch_size):
        b = min(batch_size, n - start)
        x = mean + std * rng.standard_normal((b, *mean.shape))
        yield np.clip(np.rint(x), 0, 255).astype(np.uint8)
