"""Perceptual path length (Karras et al. 2019) with the extractor's features as the metric.

PPL = E[ ||phi(G(path(t))) - phi(G(path(t + eps)))||^2 / eps^2 ], eps = 1e-4, the mean taken after dropping
values below the 1st and above the 99th percentile as StyleGAN does. In Z the path is slerp(z1, z2, t); in W
(a model that declares an intermediate latent, `kgan.models.surface.IntermediateLatent`) it is lerp(w1, w2, t)
with w = mapping(z), fed to the model's synthesis half. Sampling `full`: t ~ U(0, 1); `end`: t = 0 (the path's
end points). Both ends of a path share every other input (class, noise seed), so only the latent moves. Images go
to the extractor as float (not uint8) because the eps-step would vanish under quantization. StyleGAN measures with
LPIPS; ours are only comparable with themselves.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError
from kgan.latent import lerp, slerp
from kgan.metrics.registry import Headline, Inputs, Metric, register
from kgan.models.surface import draw_numpy

SAMPLINGS = ("full", "end")


def perceptual_path_length(generator, extractor, num_samples: int = 2000,
                           epsilon: float = 1e-4, batch_size: int = 100, seed: int = 0,
                           bar=None, space: str = "z", sampling: str = "full") -> dict:
    """`generator` is a `kgan.metrics.sources.Generator`; `space` "z" (its normal input) or "w" (its declared
    intermediate latent). `bar`: an optional `kgan.progress.Progress` over the paths."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling: {sampling!r}; choose from {SAMPLINGS}")
    walk = _z_walk(generator) if space == "z" else _w_walk(generator)
    rng = np.random.default_rng(seed)
    dists = []
    for start in range(0, num_samples, batch_size):
        b = min(batch_size, num_samples - start)
        z1, z2 = (generator.sample_latents(rng, b)[0] for _ in range(2))
        t = rng.uniform(0.0, 1.0, b) if sampling == "full" else np.zeros(b)
        pixels = (np.clip(walk(rng, z1, z2, t, epsilon), -1, 1) + 1) * 127.5
        feats = extractor.features(pixels.astype(np.float32)).astype(np.float64)
        dists.append(np.sum((feats[:b] - feats[b:]) ** 2, axis=1) / epsilon ** 2)
        if bar:
            bar.update(b)
    d = np.concatenate(dists)
    lo = np.percentile(d, 1, method="lower")
    hi = np.percentile(d, 99, method="higher")
    return {"mean": float(d[(d >= lo) & (d <= hi)].mean()), "num_samples": num_samples,
            "epsilon": epsilon, "space": space, "sampling": sampling}


def _both_ends(rest: dict) -> dict:
    return {k: np.concatenate([v, v]) for k, v in rest.items()}


def _z_walk(generator):
    """(rng, z1, z2, t, eps) -> the images at slerp t and t + eps, stacked."""
    latent = generator.latent_input().name

    def walk(rng, z1, z2, t, eps):
        z = np.concatenate([slerp(z1, z2, t), slerp(z1, z2, t + eps)]).astype(np.float32)
        return np.asarray(generator.fn({latent: z, **_both_ends(generator.path_inputs(rng, len(z1)))}), np.float32)

    return walk


def _w_walk(generator):
    """(rng, z1, z2, t, eps) -> the images at lerp t and t + eps in W, stacked."""
    space = generator.latent_space
    if space is None:
        raise DataError("PPL in W: the model declares no intermediate latent space (mapping / synthesis halves)")
    latent = space.declaration

    def walk(rng, z1, z2, t, eps):
        w1, w2 = space.mapping(z1), space.mapping(z2)
        w = np.concatenate([lerp(w1, w2, t), lerp(w1, w2, t + eps)]).astype(np.float32)
        rest = draw_numpy(list(latent.inputs), len(z1), rng)
        return np.asarray(space.synthesis({latent.name: w, **_both_ends(rest)}), np.float32)

    return walk


def _metric(space: str, sampling: str):
    def compute(x: Inputs, num_samples: int = 2000, **kw) -> dict:
        return perceptual_path_length(x.generator, x.extractor, num_samples, seed=x.seed, space=space,
                                      sampling=sampling, bar=x.bar(f"PPL {space} {sampling}", num_samples, "path"),
                                      **kw)
    compute.__module__ = __name__
    return compute


for _name, _space, _sampling, _label, _what in (
        ("ppl", "z", "full", "PPL", "along slerp paths in Z, t ~ U(0, 1)"),
        ("ppl_end", "z", "end", "PPL end", "at the end points of slerp paths in Z"),
        ("ppl_w", "w", "full", "PPL(W)", "along lerp paths in the intermediate latent W, t ~ U(0, 1)"),
        ("ppl_w_end", "w", "end", "PPL(W) end", "at the end points of lerp paths in W")):
    needs = {"generator", "features"} | ({"latent_space"} if _space == "w" else set())
    register(Metric(_name, needs, _metric(_space, _sampling), [Headline("mean", _label)], "lower",
                    f"perceptual path length: feature change {_what}"))
