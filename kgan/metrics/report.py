"""`evaluate`: score samples against a reference set and put the numbers in context.

Every report names the extractor (and its `resize`), the sample counts, each metric, and the
same metrics for two reference points (real-vs-real halves and the per-pixel Gaussian), because a
bare FID on a custom extractor means nothing. Reference-set features are cached on disk.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgan.errors import ConfigError, DataError
from kgan.metrics import baselines, stats
from kgan.metrics.coverage import class_coverage
from kgan.metrics.features import FeatureExtractor, get_extractor
from kgan.metrics.frechet import fid
from kgan.metrics.inception_score import inception_score
from kgan.metrics.kid import kernel_inception_distance
from kgan.metrics.ms_ssim import ms_ssim
from kgan.metrics.ppl import perceptual_path_length
from kgan.metrics.precision_recall import precision_recall
from kgan.metrics.sources import as_batches, as_generator
from kgan.metrics.swd import swd

FEATURE_METRICS = ("fid", "kid", "pr")
CLASS_METRICS = ("is", "coverage")
PIXEL_METRICS = ("ms_ssim", "swd")
ALL_METRICS = FEATURE_METRICS + CLASS_METRICS + PIXEL_METRICS + ("ppl",)


def resolve_metrics(metrics, extractor: FeatureExtractor, has_generator: bool) -> list[str]:
    """Validate a metric list; None = everything that applies to this extractor and sample kind."""
    if metrics is None:
        return [m for m in ALL_METRICS if (m not in CLASS_METRICS or extractor.num_classes)
                and (m != "ppl" or has_generator)]
    names = [m.strip().lower() for m in (metrics.split(",") if isinstance(metrics, str)
                                         else metrics) if m.strip()]
    unknown = sorted(set(names) - set(ALL_METRICS))
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; known: "
                          f"{', '.join(ALL_METRICS)}")
    if not extractor.num_classes and set(names) & set(CLASS_METRICS):
        raise ConfigError(f"metrics {', '.join(CLASS_METRICS)} need class probabilities; "
                          f"extractor {extractor.name!r} has none")
    if "ppl" in names and not has_generator:
        raise ConfigError("ppl needs a generator (a model), not stored samples")
    return list(dict.fromkeys(names))


def _checked(batches, shape):
    for batch in batches:
        if batch.dtype != np.uint8:
            raise DataError(f"sample images must be uint8 (quantize [-1, 1] floats with "
                            f"kgan.imageio.to_uint8), got {batch.dtype}")
        if tuple(batch.shape[1:]) != shape:
            raise DataError(f"sample images are {tuple(batch.shape[1:])}, reference images are "
                            f"{shape}; both sets must have one shape")
        yield batch


def _subset(data: dict, idx: np.ndarray, images: np.ndarray) -> dict:
    st = stats.RunningStats()
    st.update(data["features"][idx])
    probs = data["probs"]
    return {"n": len(idx), "stats": st, "features": data["features"][idx],
            "probs": None if probs is None else probs[idx], "images": images}


def reference_features(extractor, reference: np.ndarray, *, name: str = "", seed: int = 0,
                       cache_dir: str | Path | None = None, batch_size: int = 250,
                       progress: bool = True) -> dict:
    """Features/probs of the reference set and of its per-pixel Gaussian baseline, cached as npz
    keyed by extractor + source name + count + content hash + seed."""
    key = stats.cache_key(extractor.cache_key, name, len(reference), seed, reference)
    path = Path(cache_dir) / f"ref-{extractor.name}-{len(reference)}-{key}.npz" if cache_dir else None
    cached = stats.load_cached(path) if path else None
    if cached is None:
        real = stats.extract(extractor, stats.array_batches(reference, batch_size),
                             len(reference), label="reference features", progress=progress)
        gauss = stats.extract(extractor, baselines.pixel_gaussian(reference, len(reference), seed,
                                                                  batch_size),
                              len(reference), label="pixel-gaussian features", progress=progress)
        cached = {"features": real["features"], "probs": real["probs"],
                  "gauss_features": gauss["features"], "gauss_probs": gauss["probs"]}
        if path:
            stats.save_cached(path, cached)
    return {k: cached.get(k) for k in ("features", "probs", "gauss_features", "gauss_probs")}


def _score(names, s: dict, r: dict, seed: int, options: dict, generator=None,
           extractor=None) -> dict:
    out = {}
    for m in names:
        kw = dict(options.get(m, {}))
        if m == "fid":
            out[m] = fid(s["stats"], r["stats"])
        elif m == "kid":
            out[m] = kernel_inception_distance(s["features"], r["features"], seed=seed, **kw)
        elif m == "pr":
            out[m] = precision_recall(r["features"], s["features"], **kw)
        elif m == "is":
            out[m] = inception_score(s["probs"], **kw)
        elif m == "coverage":
            out[m] = class_coverage(s["probs"], **kw)
        elif m == "ms_ssim":
            out[m] = ms_ssim(s["images"], seed=seed, **kw)
        elif m == "swd":
            out[m] = swd(r["images"], s["images"], seed=seed, **kw)
        elif m == "ppl":
            out[m] = perceptual_path_length(generator, extractor, seed=seed, **kw)
    return out


def evaluate(samples, reference_images, extractor, metrics=None, n: int = 10000, *,
             seed: int = 0, batch_size: int = 250, num_images: int = 2048,
             cache_dir: str | Path | None = None, reference_name: str = "",
             data_dir: str | None = None, options: dict | None = None,
             progress: bool = True) -> dict:
    """Score `n` samples against `reference_images`; returns a JSON-serializable report.

    samples: uint8 NHWC array, iterable of uint8 batches, `kgan.data` source string, or a
    generator (GAN, `Generator`, callable with `latent_dim`; enables PPL).
    reference_images: uint8 NHWC array or a `kgan.data` source string.
    extractor: a `FeatureExtractor` or a spec (`classifier:PATH`, `inception:HANDLE`).
    num_images: how many images per set the pixel-space metrics (MS-SSIM, SWD) look at.
    options: per-metric keyword arguments, e.g. {"kid": {"num_subsets": 10}}.
    """
    options = options or {}
    if isinstance(extractor, str):
        extractor = get_extractor(extractor)
    if isinstance(reference_images, str):
        from kgan.data import load_arrays

        reference_name = reference_name or reference_images
        reference_images = load_arrays(reference_images, data_dir)[0]
    ref = np.asarray(reference_images)
    if ref.ndim != 4 or ref.dtype != np.uint8 or len(ref) < 4:
        raise DataError(f"reference images must be uint8 NHWC (at least 4), got {ref.dtype} "
                        f"{ref.shape}")
    if n < 2:
        raise ConfigError(f"n must be at least 2, got {n}")
    is_model = not isinstance(samples, (str, np.ndarray)) and (callable(samples) or hasattr(
        samples, "latent_dim"))
    generator = as_generator(samples) if is_model else None
    names = resolve_metrics(metrics, extractor, generator is not None)
    pixel = bool(set(names) & set(PIXEL_METRICS))
    keep = num_images if pixel else 0

    refd = reference_features(extractor, ref, name=reference_name, seed=seed, cache_dir=cache_dir,
                              batch_size=batch_size, progress=progress)
    full = {"features": refd["features"], "probs": refd["probs"]}
    gauss = {"features": refd["gauss_features"], "probs": refd["gauss_probs"]}
    batches = _checked(as_batches(generator or samples, n, batch_size, seed, data_dir),
                       tuple(ref.shape[1:]))
    sample = stats.extract(extractor, batches, n, keep_features=bool(set(names) & {"kid", "pr"}),
                           keep_images=keep, label="sample features", progress=progress)

    everything = np.arange(len(ref))
    a, b = baselines.real_halves(len(ref), seed)
    real = _subset(full, everything, ref[np.concatenate([a, b])[:keep]])
    gauss_images = (np.concatenate(list(baselines.pixel_gaussian(ref, keep, seed)))
                    if keep else None)
    ref_names = [m for m in names if m != "ppl"]
    report = {
        "extractor": extractor.details,
        "resize": extractor.details["resize"],
        "reference": reference_name or "array",
        "num_samples": int(sample["n"]),
        "num_reference": int(len(ref)),
        "seed": seed,
        "options": options,
        "metrics": _score(names, sample, real, seed, options, generator, extractor),
        "reference_points": {
            "real_vs_real": {
                "description": "two disjoint halves of the reference set",
                "num_samples": int(len(a)),
                "metrics": _score(ref_names, _subset(full, a, ref[a[:keep]]),
                                  _subset(full, b, ref[b[:keep]]), seed, options)},
            "pixel_gaussian": {
                "description": "each pixel drawn from its own mean/std over the reference set",
                "num_samples": int(len(ref)),
                "metrics": _score(ref_names, _subset(gauss, everything, gauss_images),
                                  real, seed, options)},
        },
    }
    if generator is not None and generator.num_classes and extractor.num_classes:  # conditional accuracy
        from kgan.metrics.conditional import conditional_report

        kw = {"n_per_class": max(10, min(100, n // generator.num_classes)), **options.get("conditional", {})}
        report["conditional"] = conditional_report(generator, extractor, seed=seed, batch_size=batch_size, **kw)
    return report


#: (label, key) of the headline numbers of each metric's result dict.
HEADLINES = {"fid": [("FID", "value")], "kid": [("KID x1e3", "mean")],
             "pr": [("precision", "precision"), ("recall", "recall")], "is": [("IS", "mean")],
             "coverage": [("class coverage", "coverage"), ("KL(hist||unif)", "kl_uniform")],
             "ms_ssim": [("MS-SSIM", "mean")], "swd": [("SWD x1e3 (mean)", "mean")], "ppl": [("PPL", "mean")]}


def headline(name: str, result) -> list[tuple[str, float]]:
    """The headline numbers of one metric result; unknown metrics show their numeric fields."""
    if isinstance(result, (int, float)):
        return [(name, float(result))]
    if not isinstance(result, dict):
        return []
    out = [(label, (1e3 if name == "kid" else 1.0) * float(result[key]))
           for label, key in HEADLINES.get(name, []) if isinstance(result.get(key), (int, float))]
    return out or [(f"{name} {k}", float(v)) for k, v in result.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "num_samples"]


def format_table(report: dict) -> str:
    """A short text table: samples next to both reference points."""
    points = report["reference_points"]
    cols = ["samples", "real vs real", "pixel gaussian"]
    lines = [f"extractor: {report['extractor']['name']}  resize: {report['resize']}",
             f"samples: {report['num_samples']}  reference: {report['num_reference']} "
             f"({report['reference']})",
             f"{'metric':<18}" + "".join(f"{c:>16}" for c in cols)]
    for name, result in report["metrics"].items():
        others = [points["real_vs_real"]["metrics"].get(name),
                  points["pixel_gaussian"]["metrics"].get(name)]
        for i, (label, value) in enumerate(headline(name, result)):
            cells = [value] + [(headline(name, o)[i][1] if o else None) for o in others]
            lines.append(f"{label:<18}" + "".join(
                f"{'-':>16}" if c is None else f"{c:>16.4f}" for c in cells))
    if "conditional" in report:
        lines.append(f"{'cond. accuracy':<18}{report['conditional']['accuracy']:>16.4f}")
    return "\n".join(lines)
