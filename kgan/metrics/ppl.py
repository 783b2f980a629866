"""Perceptual path length (Karras et al. 2019) with the extractor's features as the metric.

PPL = E[ ||phi(G(slerp(z1, z2, t))) - phi(G(slerp(z1, z2, t + eps)))||^2 / eps^2 ], t ~ U(0,1),
eps = 1e-4, the mean taken after dropping values below the 1st and above the 99th percentile as
StyleGAN does. Images go to the extractor as float (not uint8) because the eps-step would vanish
under quantization. StyleGAN measures with LPIPS; ours are only comparable with themselves.
"""

from __future__ import annotations

import numpy as np

from kgan.latent import slerp
from kgan.metrics.registry import Headline, Inputs, Metric, register


def perceptual_path_length(generator, extractor, num_samples: int = 2000,
                           epsilon: float = 1e-4, batch_size: int = 100, seed: int = 0,
                           bar=None) -> dict:
    """`generator` is a `kgan.metrics.sources.Generator`; the same label is used on both ends.
    `bar`: an optional `kgan.progress.Progress` over the paths."""
    rng = np.random.default_rng(seed)
    dists = []
    for start in range(0, num_samples, batch_size):
        b = min(batch_size, num_samples - start)
        z1, labels = generator.sample_latents(rng, b)
        z2, _ = generator.sample_latents(rng, b)
        t = rng.uniform(0.0, 1.0, b)
        z = np.concatenate([slerp(z1, z2, t), slerp(z1, z2, t + epsilon)]).astype(np.float32)
        both = None if labels is None else np.concatenate([labels, labels])
        pixels = (np.clip(generator.images(z, both), -1, 1) + 1) * 127.5
        feats = extractor.features(pixels.astype(np.float32)).astype(np.float64)
        dists.append(np.sum((feats[:b] - feats[b:]) ** 2, axis=1) / epsilon ** 2)
        if bar:
            bar.update(b)
    d = np.concatenate(dists)
    lo = np.percentile(d, 1, method="lower")
    hi = np.percentile(d, 99, method="higher")
    return {"mean": float(d[(d >= lo) & (d <= hi)].mean()), "num_samples": num_samples,
            "epsilon": epsilon, "space": "z", "sampling": "full"}


def _compute(x: Inputs, num_samples: int = 2000, **kw) -> dict:
    return perceptual_path_length(x.generator, x.extractor, num_samples, seed=x.seed,
                                  bar=x.bar("PPL", num_samples, "path"), **kw)


register(Metric("ppl", {"generator", "features"}, _compute, [Headline("mean", "PPL")], "lower",
                "perceptual path length: feature change along latent interpolations"))
