"""`evaluate`: score samples against a reference set and put the numbers in context.

Every report names the extractor (and its `resize`), the sample counts, each metric, and the
same metrics for two reference points (real-vs-real halves and the per-pixel Gaussian), because a
bare FID on a custom extractor means nothing. Reference-set features are computed once
(`kgan.metrics.feature_cache`: in memory and on disk, per data digest and extractor identity).
Which metrics exist, what they need and how they are shown comes from `kgan.metrics.registry`.

Paired metrics (model outputs against their targets) use the same two reference points, built
from the targets: "real vs real" scores each target against another example's target (a real
image, but not the one asked for: what an output that ignores its input can reach), "pixel
gaussian" scores per-pixel Gaussian draws of the targets against the targets. A model that declares an
`identity_feature` (its input) adds the "identity" point: that input, brought to the output's shape
(`kgan.metrics.identity`), scored as the output, paired and unpaired. A data transform that declares a
classical inverse (`kgan.metrics.restoration`: `bicubic` upsampling for `downsample`, a `wiener`
deconvolution with the true kernel for `blur`) adds it the same way. Reference points added by the caller
(the pipeline's baselines) are table columns like these.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from kgan.errors import ConfigError, DataError
from kgan.metrics import baselines, feature_cache, registry, restoration, stats
from kgan.metrics.features import get_extractor
from kgan.metrics.reference import as_reference
from kgan.metrics.registry import Inputs
from kgan.imageio import to_uint8
from kgan.metrics.sources import as_batches, as_generator

#: What each need requires, for error messages.
_NEED_HINTS = {"features": "a feature extractor and samples to score",
               "probs": "class probabilities (an extractor with classes)",
               "images": "samples and reference images",
               "generator": "a generator (a model), not stored samples",
               "paired": "(output, target) pairs: evaluate(..., pairs=...)",
               "labels": "class labels of the paired examples (a model fed from labelled data)",
               "input_labels": "the classes of the inputs (an unpaired translator fed from labelled data)",
               "texts": "the captions the samples were generated from (a text-conditioned model fed from captioned "
                        "data)",
               "latent_space": "a model that declares an intermediate latent space (StyleGAN's W)"}


def _split(metrics) -> list[str]:
    names = metrics.split(",") if isinstance(metrics, str) else metrics
    return list(dict.fromkeys(m.strip().lower() for m in names if m.strip()))


def resolve_metrics(metrics, available) -> list[str]:
    """Validate a metric list against the needs `available` (a subset of `registry.NEEDS`);
    None = every registered metric whose needs are available."""
    if metrics is None:
        return [m for m in registry.names() if registry.get(m).needs <= set(available)]
    names = _split(metrics)
    unknown = [m for m in names if m not in registry.names()]
    if unknown:
        raise ConfigError(f"unknown metric(s) {', '.join(unknown)}; known: "
                          f"{', '.join(registry.names())}")
    for m in names:
        missing = sorted(registry.get(m).needs - set(available))
        if missing:
            raise ConfigError(f"{m} needs {'; '.join(_NEED_HINTS[n] for n in missing)}")
    if not names:
        raise ConfigError("no metrics requested")
    return names


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


def reference_features(extractor, reference, *, seed: int = 0, cache_dir: str | Path | None = None,
                       batch_size: int = 250, progress: bool = True) -> dict:
    """Features/probs of the reference set (a `Reference` or an array, streamed) and of its per-pixel Gaussian
    baseline (`feature_cache`: computed once per data, extractor identity and resize; on disk under `cache_dir`),
    with the reference's per-pixel moments."""
    reference = as_reference(reference)
    kw = dict(cache_dir=cache_dir, batch_size=batch_size, progress=progress)
    real = feature_cache.features_of(extractor, reference, **kw)
    moments = (real["pixel_mean"], real["pixel_std"])
    gauss = feature_cache.features_of(
        extractor, reference, variant=f"pixel-gaussian seed {seed} batch {batch_size}",
        batches=lambda: baselines.gaussian_draws(*moments, reference.count, seed, batch_size),
        label="pixel-gaussian features", **kw)
    return {"features": real["features"], "probs": real["probs"], "index": real["index"], "moments": moments,
            "gauss_features": gauss["features"], "gauss_probs": gauss["probs"]}


def _score(names, inputs: Inputs, options: dict) -> dict:
    return {m: registry.get(m).compute(inputs, **options.get(m, {})) for m in names}


def _pairs(pairs) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (outputs, targets) batches; both uint8 NHWC of one shape."""
    outs, targets = [], []
    for out, target in pairs:
        out, target = np.asarray(out), np.asarray(target)
        if out.dtype != np.uint8 or target.dtype != np.uint8:
            raise DataError(f"paired outputs and targets must be uint8, got {out.dtype} and "
                            f"{target.dtype}")
        if out.ndim != 4 or out.shape != target.shape:
            raise DataError(f"paired outputs {out.shape} and targets {target.shape} must be "
                            "NHWC batches of one shape")
        outs.append(out)
        targets.append(target)
    if sum(len(t) for t in targets) < 2:
        raise DataError("paired metrics need at least 2 (output, target) pairs")
    return np.concatenate(outs), np.concatenate(targets)


def _paired_section(names, pairs, seed: int, options: dict, progress: bool, *, extractor=None,
                    labels=None, as_outputs=None) -> dict:
    """Each point scores its images against the targets; `labels` go with the images scored (real vs
    real: the other example's target, so its accuracy is the accuracy on real targets). `as_outputs`:
    {point: uint8 images made from the inputs} scored as outputs (identity, classical inverses)."""
    outputs, targets = _pairs(pairs)
    shift = len(targets) // 2
    other = np.roll(targets, shift, axis=0)  # every target with another one
    gauss = np.concatenate(list(baselines.pixel_gaussian(targets, len(targets), seed)))
    points = {"metrics": (outputs, labels, "outputs"),
              "real_vs_real": (other, None if labels is None else np.roll(labels, shift), "real vs real"),
              "pixel_gaussian": (gauss, labels, "pixel gaussian")}
    for point, images in (as_outputs or {}).items():
        points[point] = (images, labels, point)
    ctx = dict(seed=seed, extractor=extractor, progress=progress)
    return {"num_pairs": int(len(targets)),
            **{point: _score(names, Inputs(pairs=(images, targets), labels=point_labels, side=side, **ctx),
                             options)
               for point, (images, point_labels, side) in points.items()}}


def _sample_section(names, samples, generator, ref, extractor, *, n, seed, batch_size,
                    num_images, cache_dir, data_dir, options, progress,
                    as_outputs=None, input_labels=None, texts=None) -> dict:
    """The sample-side report: metrics of the samples and of the reference points (`as_outputs`:
    {point: uint8 NHWC images made from the model's inputs}: its identity, the data's classical inverses;
    `input_labels`: the classes of those inputs, an unpaired translator's)."""
    needs = set().union(*(registry.get(m).needs for m in names))
    keep = num_images if "images" in needs else 0
    refd = reference_features(extractor, ref, seed=seed, cache_dir=cache_dir, batch_size=batch_size,
                              progress=progress)
    full = {"features": refd["features"], "probs": refd["probs"]}
    gauss = {"features": refd["gauss_features"], "probs": refd["gauss_probs"]}
    batches = _checked(as_batches(samples, n, batch_size, seed, data_dir), ref.shape)
    sample = stats.extract(extractor, batches, n, keep_features="features" in needs,
                           keep_images=keep, label="sample features", progress=progress)

    everything = np.arange(ref.count)
    a, b = baselines.real_halves(ref.count, seed)
    # pixel-space metrics look at `keep` real images per side: only those are read (by the index their rows carry)
    shown = np.unique(np.concatenate([a[:keep], b[:keep]]))
    pixels = dict(zip(shown.tolist(), ref.images_at(refd["index"][shown]))) if keep else {}

    def at(rows):
        return np.stack([pixels[i] for i in rows.tolist()]) if keep else None

    real = _subset(full, everything, at(np.concatenate([a, b])[:keep]))
    gauss_images = (np.concatenate(list(baselines.gaussian_draws(*refd["moments"], keep, seed)))
                    if keep else None)
    ref_names = [m for m in names if "generator" not in registry.get(m).needs]
    ctx = dict(seed=seed, extractor=extractor, progress=progress)
    points = {}
    for point, images in (as_outputs or {}).items():
        inputs = stats.extract(extractor, stats.array_batches(images, batch_size), len(images),
                               keep_features="features" in needs, keep_images=keep,
                               label=f"{point} features", progress=progress)
        points[point] = {"num_samples": int(inputs["n"]), "metrics": _score(
            ref_names, Inputs(inputs, real, labels=input_labels, texts=texts, side=point, **ctx), options)}
    return {
        "num_samples": int(sample["n"]),
        "metrics": _score(names, Inputs(sample, real, generator=generator, labels=input_labels, texts=texts, **ctx),
                          options),
        "reference_points": {
            "real_vs_real": {
                "description": "two disjoint halves of the reference set",
                "num_samples": int(len(a)),
                "metrics": _score(ref_names, Inputs(
                    _subset(full, a, at(a[:keep])), _subset(full, b, at(b[:keep])),
                    side="real vs real", **ctx), options)},
            "pixel_gaussian": {
                "description": "each pixel drawn from its own mean/std over the reference set",
                "num_samples": int(ref.count),
                "metrics": _score(ref_names, Inputs(
                    _subset(gauss, everything, gauss_images), real, side="pixel gaussian",
                    **ctx), options)},
            **points,
        },
    }


def _available(samples, extractor, generator, pairs, labels, input_labels=None, texts=None) -> set[str]:
    """The needs (`registry.NEEDS`) that these arguments can satisfy."""
    available = {"paired"} if pairs is not None else set()
    if texts is not None:
        available.add("texts")
    if input_labels is not None and (input_labels >= 0).any():
        available.add("input_labels")
    if pairs is not None and labels is not None and (labels >= 0).any():
        available.add("labels")
    if samples is not None:
        available.add("images")
        if extractor is not None:
            available |= {"features", "probs"} if extractor.num_classes else {"features"}
        if generator is not None:
            available.add("generator")
            if generator.latent_space is not None:
                available.add("latent_space")
    return available


def evaluate(samples, reference_images, extractor, metrics=None, n: int = 10000, *,
             seed: int = 0, batch_size: int = 250, num_images: int = 2048,
             cache_dir: str | Path | None = None, reference_name: str = "",
             data_dir: str | None = None, options: dict | None = None, pairs=None,
             labels=None, data=None, data_config=None, progress: bool = True) -> dict:
    """Score `n` samples against `reference_images`, and/or `pairs`; a JSON-serializable report.

    samples: uint8 NHWC array, iterable of uint8 batches, `kgan.data` source string, or a
    generator (GAN, `Generator`, callable with `latent_dim`; enables PPL); None with only
    paired metrics.
    reference_images: a streamed `kgan.metrics.reference.Reference` (the pipeline's: a seeded sample of a prepared
    set), a uint8 NHWC array or a `kgan.data` source string (a `shards:` one streamed whole); None without samples.
    The report names what was used: `num_reference` and `reference_selection`.
    extractor: a `FeatureExtractor` or a spec (`classifier:PATH`, `inception:HANDLE`).
    metrics: names or a comma list (see `kgan.metrics.registry.names()`); None = all that apply.
    num_images: how many images per set the pixel-space metrics (MS-SSIM, SWD) look at.
    options: per-metric keyword arguments, e.g. {"kid": {"num_subsets": 10}}.
    pairs: iterable of (outputs, targets) uint8 NHWC batches for the paired metrics (l1, psnr,
    ssim): an image-to-image model's outputs with the targets of the same inputs.
    labels: int class labels of those pairs' examples (-1 = unlabelled), for `output_accuracy`.
    data: iterator of data-feature batches ({feature: array}) for a model whose inputs come from data
    (`kgan.data.features.feature_batches`); when the model has a target feature, its outputs and those
    targets also make the pairs, the rows' `label`s the labels of `output_accuracy`, and a declared
    identity feature the "identity" reference point.
    An autoencoder (a generator with `encode`) encodes those rows: its `encoder` metrics (`prior_mmd`,
    `reconstruction_mse`, `reconstruction_accuracy`, `probe_accuracy`) score the held-out examples.
    data_config: the data section `data` comes from; its transform's classical inverses
    (`kgan.metrics.restoration`) become reference points of a model with a target feature.
    """
    options = options or {}
    if isinstance(extractor, str):
        extractor = get_extractor(extractor)
    if n < 2:
        raise ConfigError(f"n must be at least 2, got {n}")
    is_model = not isinstance(samples, (str, np.ndarray)) and (callable(samples) or hasattr(
        samples, "latent_dim"))
    generator = as_generator(samples) if is_model else None
    samples = generator or samples  # what the sample batches come from
    labels = None if labels is None else np.asarray(labels)
    as_outputs = {}  # reference points made from the inputs, scored as if they were the outputs
    input_labels = texts = None
    if generator is not None and data is not None:  # one pass over the data makes the samples and the pairs
        made = list(generator.batches_with_rows(n, batch_size, seed, data))
        samples = [images for images, _ in made]
        paired_here = generator.target_feature and pairs is None
        if paired_here:
            pairs = [generator.pair(images, rows) for images, rows in made]
            labels = _rows_feature(made, "label")
        if generator.identity_feature and (paired_here or not generator.target_feature):
            # an unpaired translator (CycleGAN) too: its untranslated inputs scored against the output domain
            as_outputs["identity"] = np.concatenate([generator.identity(images, rows) for images, rows in made])
        if paired_here:
            inverses = [restoration.classical_inverses(data_config, rows, images.shape[1:]) for images, rows in made]
            as_outputs.update({point: np.concatenate([i[point] for i in inverses]) for point in inverses[0]})
        if generator.input_label_feature and not generator.target_feature:
            input_labels = _rows_feature(made, generator.input_label_feature)
        text = next((s for s in generator.specs if s.draw == "string"), None)
        if text is not None and not generator.target_feature:  # conditioned on captions of data images
            texts = _rows_feature(made, text.feature)
            if texts is not None and _rows_feature(made, "image") is not None:
                as_outputs["captioned_real"] = to_uint8(_rows_feature(made, "image"))
    held_out = _held_out(made) if generator is not None and generator.encode and data is not None else None
    available = _available(samples, extractor, generator, pairs, labels, input_labels, texts)
    names = resolve_metrics(metrics, available | ({"encoder"} if held_out else set()))
    paired = [m for m in names if "paired" in registry.get(m).needs]
    encoded = [m for m in names if "encoder" in registry.get(m).needs]
    unpaired = [m for m in names if m not in paired and m not in encoded]

    report = {"extractor": extractor.details if extractor is not None else None,
              "warnings": list(extractor.warnings) if extractor is not None else [],
              "seed": seed, "options": options, "metrics": {}}
    if unpaired:
        if extractor is None:
            raise ConfigError("scoring samples needs a feature extractor")
        if reference_images is None:
            raise ConfigError("scoring samples needs reference images")
        ref = as_reference(reference_images, data_dir)
        reference_name = reference_name or (reference_images if isinstance(reference_images, str) else "")
        section = _sample_section(unpaired, samples, generator, ref, extractor, n=n, seed=seed,
                                  batch_size=batch_size, num_images=num_images,
                                  cache_dir=cache_dir,
                                  data_dir=data_dir, options=options, progress=progress,
                                  as_outputs=as_outputs, input_labels=input_labels, texts=texts)
        report.update(resize=extractor.details["resize"], reference=reference_name or "array",
                      num_samples=section["num_samples"], num_reference=int(ref.count),
                      reference_selection=ref.selection,
                      metrics=section["metrics"], reference_points=section["reference_points"])
        if generator is not None and generator.num_classes and extractor.num_classes:
            from kgan.metrics.conditional import conditional_report

            kw = {"n_per_class": max(10, min(100, n // generator.num_classes)),
                  **options.get("conditional", {})}
            report["conditional"] = conditional_report(generator, extractor, seed=seed,
                                                       batch_size=batch_size, **kw)
    if paired:
        section = _paired_section(paired, pairs, seed, options, progress, extractor=extractor,
                                  labels=labels, as_outputs=as_outputs)
        report["num_pairs"] = section["num_pairs"]
        report["metrics"].update(section["metrics"])
        points = report.setdefault("reference_points", {})
        for point, text in _PAIRED_POINTS.items():
            if point in section:
                points.setdefault(point, {"metrics": {}})["metrics"].update(section[point])
                points[point]["paired"] = text
    for point in as_outputs:
        report["reference_points"][point]["description"] = _FROM_INPUTS[point]
    if encoded:
        report["num_held_out"] = int(len(held_out["image"]))
        report["metrics"].update(_score(encoded, Inputs(generator=generator, extractor=extractor, held_out=held_out,
                                                        seed=seed, side="held-out codes", progress=progress), options))
    return report


def _held_out(made) -> dict | None:
    """The data rows an autoencoder's samples were drawn beside ({"image", "label"}), for its encoder metrics; None
    when fewer than 2."""
    rows = [r for _, r in made if r is not None and "image" in r]
    if sum(len(r["image"]) for r in rows) < 2:
        return None
    held = {"image": np.concatenate([np.asarray(r["image"], np.float32) for r in rows])}
    if all("label" in r for r in rows):
        held["label"] = np.concatenate([np.asarray(r["label"]) for r in rows])
    return held


#: Reference points made from the model's inputs: what each is.
_FROM_INPUTS = {"identity": "the model's input, resized and in the output's channels",
                "captioned_real": "the real images the captions describe, scored with their own captions",
                **restoration.POINTS}
_PAIRED_POINTS = {"real_vs_real": "each target against another example's target",
                  "pixel_gaussian": "per-pixel Gaussian draws of the targets vs targets",
                  "identity": "the model's input against its target",
                  **{point: f"{text}, against its target" for point, text in restoration.POINTS.items()}}


def _rows_feature(made, feature: str):
    """One data feature of the rows the outputs were made from, concatenated (None when absent)."""
    if not all(rows is not None and feature in rows for _, rows in made):
        return None
    return np.concatenate([np.asarray(rows[feature])[:len(images)] for images, rows in made])


def add_reference_point(report: dict, name: str, description: str, other_report: str | Path) -> None:
    """Another model's report (a baseline evaluated on the same data) as the reference point `name`."""
    import json

    other = json.loads(Path(other_report).read_text())
    report.setdefault("reference_points", {})[name] = {
        "description": description, "report": str(Path(other_report).resolve()),
        "metrics": {m: v for m, v in other["metrics"].items() if m in report["metrics"]}}


def headline_rows(name: str, result) -> list[tuple[str, str, float]]:
    """(label, direction, displayed value) of one metric's headline numbers; a metric that is not
    registered (an older report) shows its numeric fields without a direction. Every table of
    metrics (this module's text table, the gallery, the comparison page) reads them here."""
    if name in registry.names() and isinstance(result, dict):
        metric = registry.get(name)
        return [(metric.label(h), metric.direction_of(h), metric.scale * float(result[h.key]))
                for h in metric.headlines if isinstance(result.get(h.key), (int, float))]
    if isinstance(result, (int, float)):
        return [(name, "", float(result))]
    if not isinstance(result, dict):
        return []
    return [(f"{name} {k}", "", float(v)) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "num_samples"]


def headline(name: str, result) -> list[tuple[str, float]]:
    """(label, displayed value) of the headline numbers of one metric result."""
    return [(label, value) for label, _, value in headline_rows(name, result)]


def format_value(value: float | None, digits: int = 4) -> str:
    """`digits` significant digits without exponent for everyday magnitudes: 29498.97 -> 29499,
    0.012345 -> 0.01235, 481.2168 -> 481.2; exponent notation outside [1e-4, 1e7)."""
    if value is None:
        return "-"
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    magnitude = math.floor(math.log10(abs(value)))
    if not -4 <= magnitude < 7:
        return f"{value:.{digits - 1}e}"
    return f"{value:.{max(0, digits - 1 - magnitude)}f}"


_BETTER = {"lower": "lower", "higher": "higher", "match": "~real", "": ""}


def better(direction: str) -> str:
    """The "better" column of a table for a metric direction: lower, higher, ~real (match real vs real)."""
    return _BETTER[direction]


def point_order(points) -> list[str]:
    """Reference point names in table order: the fixed points (real vs real, pixel gaussian, identity, the
    classical inverses), then the others (baselines) by name, whatever order a JSON file kept them in."""
    return [p for p in _PAIRED_POINTS if p in points] + sorted(set(points) - set(_PAIRED_POINTS))


def format_table(report: dict) -> str:
    """A short text table: samples next to both reference points, which way is better, the
    extractor's held-out accuracy and any warnings."""
    found = report.get("reference_points", {})
    points = {p: found[p] for p in point_order(found)}
    cols = ["better", "samples"] + [p.replace("_", " ") for p in points]
    ex = report.get("extractor") or {}
    lines = [f"WARNING: {w}" for w in report.get("warnings", [])]
    if ex:
        acc = ex.get("holdout_accuracy")
        lines.append(f"extractor: {ex['name']}  resize: {report.get('resize', ex.get('resize'))}"
                     + (f"  held-out accuracy: {acc:.3f}" if acc is not None else ""))
    if "num_samples" in report:
        lines.append(f"samples: {report['num_samples']}  reference: {report['num_reference']} "
                     f"({report['reference']})")
    if "num_pairs" in report:
        lines.append(f"pairs: {report['num_pairs']}")
    lines.append(f"{'metric':<18}{cols[0]:>8}" + "".join(f"{c:>16}" for c in cols[1:]))
    for name, result in report["metrics"].items():
        others = [(point.get("metrics") or {}).get(name) for point in points.values()]
        for i, (label, direction, value) in enumerate(headline_rows(name, result)):
            cells = [value] + [(headline_rows(name, o)[i][2] if o else None) for o in others]
            lines.append(f"{label:<18}{better(direction):>8}"
                         + "".join(f"{format_value(c):>16}" for c in cells))
    if "conditional" in report:
        lines.append(f"{'cond. accuracy':<18}{'higher':>8}"
                     f"{format_value(report['conditional']['accuracy']):>16}")
    return "\n".join(lines)
