"""MS-SSIM among random pairs of generated images (Odena et al.; Progressive GAN table 1).

Higher means the samples look alike (less diverse); compare with the same number on real data.
`tf.image.ssim_multiscale` with the standard 11-px filter and 5 scales needs images of at least
176 px. For smaller images we keep the first scales of the standard weights (renormalized to sum
to 1) and a 7-px, sigma 1.0 Gaussian, with as many scales as keep the coarsest level >= 7 px:
28x28 -> 3 scales (28, 14, 7), 64x64 -> 4, >=176 -> the standard 5 with the 11-px filter.
"""

from __future__ import annotations

import math

import numpy as np

from kgan.metrics.registry import Headline, Inputs, Metric, register

STANDARD_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def ms_ssim_settings(height: int, width: int) -> dict:
    side = min(height, width)
    if side >= 176:
        return {"filter_size": 11, "filter_sigma": 1.5, "power_factors": STANDARD_POWER_FACTORS}
    size = min(7, side)
    scales = max(1, min(5, 1 + int(math.log2(side / size))))
    weights = np.array(STANDARD_POWER_FACTORS[:scales])
    return {"filter_size": size, "filter_sigma": 1.0,
            "power_factors": tuple(float(w) for w in weights / weights.sum())}


def ms_ssim(images: np.ndarray, num_pairs: int = 10000, seed: int = 0,
            batch_size: int = 1000, bar=None) -> dict:
    """Mean MS-SSIM over `num_pairs` random pairs (i != j) drawn from uint8 NHWC `images`;
    `bar`: an optional `kgan.progress.Progress` over the pairs."""
    import tensorflow as tf

    settings = ms_ssim_settings(*images.shape[1:3])
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(images), num_pairs)
    j = (i + rng.integers(1, len(images), num_pairs)) % len(images)
    values = []
    for s in range(0, num_pairs, batch_size):
        a = tf.constant(images[i[s:s + batch_size]], tf.float32)
        b = tf.constant(images[j[s:s + batch_size]], tf.float32)
        values.append(tf.image.ssim_multiscale(a, b, max_val=255.0, **settings).numpy())
        if bar:
            bar.update(len(a))
    values = np.concatenate(values)
    return {"mean": float(values.mean()), "std": float(values.std()), "num_pairs": num_pairs,
            "num_images": int(len(images)), **settings,
            "power_factors": list(settings["power_factors"])}


def _compute(x: Inputs, num_pairs: int = 10000, **kw) -> dict:
    return ms_ssim(x.sample["images"], num_pairs, seed=x.seed,
                   bar=x.bar("MS-SSIM", num_pairs, "pair"), **kw)


register(Metric("ms_ssim", {"images"}, _compute, [Headline("mean", "MS-SSIM")], "match",
                "MS-SSIM among random sample pairs: higher = less diverse; compare with real"))
