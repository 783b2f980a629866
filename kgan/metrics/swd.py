"""Sliced Wasserstein distance on Laplacian-pyramid patches (Karras et al. 2018, Progressive GAN).

Per pyramid level: random 7x7 neighbourhoods from every image, each level's descriptors normalized
per channel (per set, as in the paper's code), then the 1-D Wasserstein distance of random unit
projections, averaged over `dir_repeats` x `dirs_per_repeat` directions. Reported x1e3 like the
paper's table, highest resolution first, plus the average.
The paper used 16384 images, 128 patches per image and levels down to 16 px. For 28x28 data that
leaves one level, so by default levels go down to the patch size for images under 64 px
(28 -> 28, 14, 7), with 64 patches per image (capped at the number of distinct positions) and
as many images as given (2048 by default in `evaluate`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from kgan.metrics.registry import Headline, Inputs, Metric, register

_KERNEL = np.float32([1, 4, 6, 4, 1]) / 16


def _blur(x: np.ndarray, gain: float = 1.0) -> np.ndarray:
    k = _KERNEL * gain
    return ndimage.convolve1d(ndimage.convolve1d(x, k, axis=1, mode="mirror"), k, axis=2,
                              mode="mirror")


def laplacian_pyramid(images: np.ndarray, num_levels: int) -> list[np.ndarray]:
    """Levels of NHWC float32 images, finest first; the last level is the Gaussian residual."""
    levels = [np.asarray(images, np.float32)]
    for _ in range(1, num_levels):
        down = _blur(levels[-1])[:, ::2, ::2]
        up = np.zeros_like(levels[-1])
        up[:, ::2, ::2] = down
        levels[-1] = levels[-1] - _blur(up, 2.0)
        levels.append(down)
    return levels


def _descriptors(level: np.ndarray, nhood: int, per_image: int, rng) -> np.ndarray:
    n, h, w, c = level.shape
    per_image = min(per_image, (h - nhood + 1) * (w - nhood + 1))
    ys = rng.integers(0, h - nhood + 1, (n, per_image))
    xs = rng.integers(0, w - nhood + 1, (n, per_image))
    off = np.arange(nhood)
    rows = (ys[..., None, None] + off[:, None])  # [n, per, nhood, 1]
    cols = (xs[..., None, None] + off[None, :])  # [n, per, 1, nhood]
    patches = level[np.arange(n)[:, None, None, None], rows, cols]  # [n, per, nhood, nhood, c]
    desc = patches.reshape(-1, nhood * nhood, c)
    desc = (desc - desc.mean(axis=(0, 1))) / (desc.std(axis=(0, 1)) + 1e-8)
    return desc.reshape(len(desc), -1)


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, dir_repeats: int, dirs_per_repeat: int,
                       rng, bar=None) -> float:
    results = []
    for _ in range(dir_repeats):
        dirs = rng.standard_normal((a.shape[1], dirs_per_repeat)).astype(np.float32)
        dirs /= np.sqrt((dirs ** 2).sum(axis=0, keepdims=True))
        pa, pb = np.sort(a @ dirs, axis=0), np.sort(b @ dirs, axis=0)
        results.append(np.abs(pa - pb).mean())
        if bar:
            bar.update(dirs_per_repeat)
    return float(np.mean(results))


def swd(real: np.ndarray, fake: np.ndarray, nhood: int = 7, per_image: int | None = None,
        min_res: int | None = None, dir_repeats: int = 4, dirs_per_repeat: int = 128,
        seed: int = 0, bar=None) -> dict:
    """SWD x1e3 per level between uint8 NHWC sets (the larger set is cut to the smaller);
    `bar`: an optional `kgan.progress.Progress`; its total is set here to the projection
    directions of all levels."""
    m = min(len(real), len(fake))
    side = min(real.shape[1:3])
    small = side < 64
    per_image = per_image or (64 if small else 128)
    min_res = min_res or (nhood if small else 16)
    num_levels = 1
    while side // 2 ** num_levels >= min_res:
        num_levels += 1
    rng = np.random.default_rng(seed)
    pyr_a, pyr_b = laplacian_pyramid(real[:m], num_levels), laplacian_pyramid(fake[:m], num_levels)
    per_level = {}
    if bar:
        bar.total = dir_repeats * dirs_per_repeat * num_levels
    for la, lb in zip(pyr_a, pyr_b):
        da, db = _descriptors(la, nhood, per_image, rng), _descriptors(lb, nhood, per_image, rng)
        per_level[str(la.shape[1])] = 1e3 * sliced_wasserstein(da, db, dir_repeats,
                                                               dirs_per_repeat, rng, bar)
    return {"levels": per_level, "mean": float(np.mean(list(per_level.values()))),
            "scale": 1e3, "num_images": int(m), "nhood": nhood, "per_image": per_image,
            "dir_repeats": dir_repeats, "dirs_per_repeat": dirs_per_repeat}


def _compute(x: Inputs, **kw) -> dict:
    return swd(x.reference["images"], x.sample["images"], seed=x.seed,
               bar=x.bar("SWD", 0, "dir"), **kw)


register(Metric("swd", {"images"}, _compute, [Headline("mean", "SWD x1e3")], "lower",
                "sliced Wasserstein distance of Laplacian-pyramid patches (pixel space)"))
