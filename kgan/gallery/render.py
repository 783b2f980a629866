"""`render_gallery`: collect every section and write the directory atomically."""

from __future__ import annotations

import json
from pathlib import Path

import kgan
from kgan.errors import ConfigError, DataError
from kgan.events import read_events
from kgan.gallery import (autoencoder, captions, codes, diversity, evaluation, growth, html, latent, neighbours,
                          paired, predicted, sections, styles)
from kgan.gallery.source import data_source, open_source, real_images
from kgan.io import atomic_path
from kgan.models import surface


def _run_features(src) -> dict | None:
    """A run's own data features (its config's data section and transform) for a model fed from data."""
    if src.kind != "run" or not src.available or not (surface.data_features(src.specs) or src.target_feature):
        return None
    from kgan.data.features import feature_arrays

    return feature_arrays(src.cfg.data, 64, seed=src.cfg.seed, split="evaluation")


def _classifier(src, classifier: str | None):
    """(extractor or None, note)."""
    path = Path(classifier) if classifier else (src.path / "classifier.keras"
                                                if src.kind == "run" else None)
    if path is None or not path.is_file():
        if classifier:
            return None, f"Classifier {classifier} not found; using pixel space."
        return None, ("No classifier (RUN/classifier.keras or --classifier PATH): neighbours are "
                      "searched in pixel space.")
    from kgan.metrics.classifier import ClassifierExtractor

    try:
        extractor = ClassifierExtractor(path)
    except (DataError, ValueError, OSError) as e:
        return None, f"Classifier {path} unusable ({e}); using pixel space."
    if src.image_shape and tuple(extractor.image_shape) != tuple(src.image_shape):
        return None, (f"Classifier {path} expects {extractor.image_shape}, the model makes "
                      f"{src.image_shape}; using pixel space.")
    return extractor, ""

def check_out(out_dir: Path, source: Path) -> None:
    """Refuse an --out that is the source (or holds it), or an existing directory that is not a gallery."""
    out, src = out_dir.resolve(), source.resolve()
    if out == src or out in src.parents:
        raise ConfigError(f"--out {out_dir} would replace the model it renders ({source})")
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / "index.html").is_file())):
        raise ConfigError(f"--out {out_dir} exists and is not a gallery (no index.html); "
                          "refusing to replace it")

def _describe(spec) -> str:
    shape = " " + "x".join(map(str, spec.shape)) if spec.shape else ""
    classes = f" of {spec.classes}" if spec.draw == "categorical" else ""
    return f"{spec.name} ({spec.draw}{shape}{classes})"


def not_shown(src, classifier=None) -> dict[str, str]:
    """Model sections that do not apply to the source's declared inputs (or, for the predicted-class rows,
    to the classifier at hand): {section id: one-line reason}. Without a model nothing is judged (the
    sections render with their "Missing" notes)."""
    no_classifier = ("Samples by predicted class: no classifier with classes (RUN/classifier.keras or "
                     "--classifier PATH)" if classifier is None or not classifier.num_classes else "")
    if not src.available:
        return {"predicted": no_classifier} if no_classifier else {}
    out = {} if diversity.noise_source(src) else {
        "diversity": "Output diversity: deterministic inference (the model declares no inference noise or noise "
                     "seed; the same inputs always give the same image)"}
    if src.style_mixing is None:
        out["style_mixing"] = "Style mixing: the model declares no style-mixing direction"
    from_data = [s.name for s in src.specs if not s.drawable]
    if from_data:
        why = f"the inputs {from_data} come from data (see Input | output | target)"
        if not any(s.draw == "string" for s in src.specs):
            out["captions"] = "Captions: the model takes no text input"
        return {**out, "samples": f"Random samples: {why}", "walks": f"Latent walks: {why}",
                "truncation": f"Truncation sweep: {why}", "classes": f"Per-class samples: {why}",
                "predicted": f"Samples by predicted class: {why}",
                "codes": f"Latent-code traversals: {why}", "neighbours": f"Nearest real neighbours: {why}",
                "latent": f"Latent tools: {why}"}
    out["paired"] = "Input | output | target: the model takes no image or text input"
    out["captions"] = "Captions: the model takes no text input"
    if surface.latent_spec(src.specs) is None:
        out["walks"] = "Latent walks: the model has no normal (latent) input"
        out["truncation"] = "Truncation sweep: the model has no normal (latent) input"
        out["latent"] = "Latent tools: the model has no normal (latent) input"
    if surface.categorical_spec(src.specs, "label") is None:
        out["classes"] = "Per-class samples: unconditional model (no class label input)"
        if no_classifier:
            out["predicted"] = no_classifier
    else:
        out["predicted"] = "Samples by predicted class: the model takes a class label (see Per-class samples)"
    if not codes.traversable(src.specs):
        out["codes"] = "Latent-code traversals: no categorical or uniform inputs besides the class label"
    return out


def training_warnings(src) -> list[str]:
    """The run's divergence restores and collapse warnings (logs/events.log), one line each."""
    if src.kind != "run":
        return []
    return [f"step {e.step}: {e.message}" for e in read_events(src.layout.events) if e.is_warning]


def _training_settings(info: dict) -> list[tuple[str, str]]:
    """The run's loss weights and model hyperparameters (run.json), for the page's header."""
    describe = lambda d: ", ".join(f"{k} {v}" for k, v in d.items())  # noqa: E731
    return [(label, describe(info[key])) for key, label in (("loss_weights", "loss weights"),
                                                             ("hparams", "hyperparameters")) if info.get(key)]


def render_gallery(run_or_saved_model: str | Path, out_dir: str | Path, *, data: str | None = None,
                   data_dir: str | None = None, report: str | Path | None = None,
                   classifier: str | Path | None = None, seed: int = 0, scale: int | None = None,
                   version: int | None = None, real_limit: int = 0,
                   features: dict | None = None) -> Path:
    """Render `index.html` + images for a run directory or a SavedModel export into `out_dir`.

    Rendered into a temporary sibling and renamed onto `out_dir` at the end, so a reader never
    sees a half-written gallery (an earlier gallery there is replaced). Returns index.html's path.
    `real_limit`: a seeded sample of that many real images for the real grid and the neighbour search (0: all of
    them); either way they are streamed, each section reading only what it shows.
    `features`: data features ({name: array}) for models whose inputs come from data (image or text
    inputs, and the target their output should match). Sections that do not apply to the model's
    declared inputs are left out and named, with the reason, at the top of the page.
    """
    source, out_dir = Path(run_or_saved_model), Path(out_dir)
    src = open_source(source, version)  # raises CheckpointError for a missing/unknown path
    check_out(out_dir, source)
    if features is None:
        features = _run_features(src)
    real, real_note = real_images(src, data, data_dir, real_limit)
    extractor, classifier_note = _classifier(src, str(classifier) if classifier else None)
    named = data_source(src)
    command = evaluation.evaluate_command(src, data or (named[0] if named else None),
                                          extractor.path if extractor is not None else classifier)
    scale = scale or sections.auto_scale(src.image_shape or (28, 28, 1))
    encoded = (autoencoder.examples(src, data, data_dir) if autoencoder.codec(src) is not None
               else (None, None, ""))  # real examples an autoencoder's sections encode
    with atomic_path(out_dir, directory=True) as tmp:
        writer = sections.Writer(tmp, scale)
        builders = {
            "samples": lambda: sections.samples_section(src, real, real_note, writer, seed),
            "progression": lambda: sections.progression_section(src, writer),
            "growth": lambda: growth.growth_section(src, writer),
            "walks": lambda: sections.walks_section(src, writer, seed),
            "truncation": lambda: sections.truncation_section(src, writer, seed),
            "style_mixing": lambda: styles.style_mixing_section(src, writer, seed),
            "classes": lambda: sections.classes_section(src, writer, seed),
            "predicted": lambda: predicted.predicted_section(src, writer, seed, extractor),
            "codes": lambda: codes.codes_section(src, writer, seed),
            "paired": lambda: paired.paired_section(src, features, writer, seed),
            "captions": lambda: captions.captions_section(src, features, writer, seed),
            "diversity": lambda: diversity.diversity_section(src, features, writer, seed),
            "reconstructions": lambda: autoencoder.reconstructions_section(src, encoded, writer),
            "code_scatter": lambda: autoencoder.scatter_section(src, encoded, writer, tmp),
            "interpolations": lambda: autoencoder.interpolations_section(src, encoded, writer, seed),
            "neighbours": lambda: neighbours.neighbours_section(src, real, writer, seed, extractor, classifier_note),
            "latent": lambda: latent.latent_section(src, real, writer, seed, extractor),
            "history": lambda: sections.history_section(src, writer, tmp),
            "evaluation": lambda: evaluation.evaluation_section(src, writer, tmp, Path(report) if report else None,
                                                                command),
        }
        skipped = {**not_shown(src, extractor), **autoencoder.not_shown(src), **growth.not_shown(src)}
        secs = [build() for name, build in builders.items() if name not in skipped]
        skipped.update(evaluation.not_shown(src, Path(report) if report else None))
        kind = "training run" if src.kind == "run" else "SavedModel export"
        meta = [("source", f"{kind}: {source}"),
                ("step", src.step if src.step is not None else "unknown"),
                ("inputs", ", ".join(_describe(s) for s in src.specs) or "unknown"),
                ("image shape", "x".join(map(str, src.image_shape)) or "unknown"),
                ("seed", seed), ("upscaling", f"{scale}x nearest-neighbour")]
        meta += _training_settings(src.info if src.kind == "run" else {})
        meta += [("not shown", reason) for reason in skipped.values()]
        model_name = src.cfg.model.name if src.kind == "run" else src.info.get("model")
        if model_name:
            meta.insert(1, ("model", model_name))
        missing = [n for s in secs for n in s.notes if n.startswith("Missing")]
        warnings = training_warnings(src)
        (tmp / "index.html").write_text(html.page(
            f"kgan gallery: {src.name or source.name}", meta, secs,
            f"kgan {kgan.__version__}; {len(missing)} missing piece(s).", warnings))
        (tmp / "gallery.json").write_text(json.dumps({
            "source": str(source), "kind": src.kind, "seed": seed, "scale": scale,
            "image_shape": list(src.image_shape), "files": writer.files,
            "sections": {s.id: {"title": s.title, "notes": s.notes} for s in secs}, "not_shown": skipped,
            "warnings": warnings},
            indent=2) + "\n")
    return out_dir / "index.html"

__all__ = ["render_gallery"]
