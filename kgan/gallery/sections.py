"""Collecting the gallery's sections: each builder writes its files and returns a `Section`.

A builder never fails the gallery for a missing piece (no snapshots, no history, no report, no
model): it returns a section with a `notes` entry saying what is missing, and the page shows it.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgan.imageio import write_grid_png
from kgan.latent import interpolation_path
from kgan.metrics.report import headline
from kgan.models import surface

SAMPLES = 64
SAMPLE_COLS = 8
PROGRESSION_SAMPLES = 8
WALK_PAIRS = 4
WALK_STEPS = 10
TRUNCATION_PSI = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
TRUNCATION_ROWS = 6
PER_CLASS = 10
NEIGHBOUR_QUERIES = 8
NEIGHBOURS = 3


# ----------------------------------------------------------------------------- page model
@dataclass
class Image:
    src: str
    width: int
    height: int
    caption: str = ""
    alt: str = ""


@dataclass
class Group:
    """Items shown side by side."""

    items: list


@dataclass
class LabeledRows:
    """One image per row with a label cell (training progression)."""

    rows: list  # [(label, Image)]
    header: tuple = ("", "")


@dataclass
class Table:
    headers: list
    rows: list
    caption: str = ""


@dataclass
class Text:
    text: str


@dataclass
class Section:
    id: str
    title: str
    intro: str = ""
    items: list = field(default_factory=list)
    notes: list = field(default_factory=list)  # what is missing / not applicable


class Writer:
    """Writes PNG grids into the gallery directory and returns `Image`s with their real size."""

    def __init__(self, out_dir: Path, scale: int):
        self.out_dir, self.scale = Path(out_dir), scale
        self.files: list[str] = []

    def grid(self, name: str, images: np.ndarray, cols: int, caption: str = "",
             alt: str = "") -> Image:
        images = np.asarray(images)
        n, h, w, _ = images.shape
        cols = min(cols, n)
        rows = math.ceil(n / cols)
        write_grid_png(images, self.out_dir / name, cols=cols, scale=self.scale)
        self.files.append(name)
        return Image(name, cols * w * self.scale, rows * h * self.scale, caption, alt or caption)

    def plot(self, path: Path, caption: str) -> Image:
        from kgan.gallery.plots import SIZE

        self.files.append(path.name)
        return Image(path.name, SIZE[0], SIZE[1], caption, caption)


def auto_scale(image_shape) -> int:
    """Nearest-neighbour factor so small images are visible: 28 -> 3, 32 -> 3, 64 -> 1."""
    return int(min(4, max(1, round(84 / max(image_shape[:2])))))


# ----------------------------------------------------------------------------- real data
def match_shape(images: np.ndarray, shape) -> np.ndarray:
    """Real images resized/converted to the model's (H, W, C) for display and neighbours."""
    h, w, c = shape
    if images.shape[1:] == (h, w, c):
        return images
    import tensorflow as tf

    x = images
    if x.shape[-1] != c:
        x = (np.repeat(x, 3, axis=-1) if c == 3
             else np.round(x.astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8))
    if x.shape[1:3] != (h, w):
        x = tf.image.resize_with_pad(x.astype(np.float32), h, w).numpy()
        x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return x


# ----------------------------------------------------------------------------- sections
def samples_section(src, real, real_note: str, writer: Writer, seed: int) -> Section:
    sec = Section("samples", "Random samples",
                  f"{SAMPLES} samples from the model's inputs drawn with seed {seed} (fixed, so two "
                  "galleries of the same model show the same draws), next to real training images.")
    if not src.available:
        sec.notes.append(f"Missing: no model to sample from ({src.unavailable}).")
    else:
        fake = src.generate(src.draw(SAMPLES, seed))
        sec.items.append(Group([writer.grid("samples.png", fake, SAMPLE_COLS,
                                            f"generated (seed {seed})")]))
    if real is not None:
        pick = np.random.default_rng(seed).permutation(len(real))[:SAMPLES]
        img = writer.grid("real.png", real[np.sort(pick)], SAMPLE_COLS, "real data")
        if sec.items:
            sec.items[0].items.append(img)
        else:
            sec.items.append(Group([img]))
    if real_note:
        sec.notes.append(real_note)
    return sec


def _snapshot_step(path: Path) -> int:
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else -1


def progression_section(src, writer: Writer) -> Section:
    sec = Section("progression", "Training progression",
                  f"The same first {PROGRESSION_SAMPLES} fixed inputs (snapshots/fixed_inputs.npz) "
                  "rendered at every snapshot, one row per snapshot.")
    if src.kind != "run":
        sec.notes.append("Not available from an exported SavedModel (no training snapshots); "
                         "render the gallery from the run directory to see it.")
        return sec
    snaps = sorted(src.layout.snapshots.glob("step_*.npz"), key=_snapshot_step)
    if not snaps:
        sec.notes.append(f"Missing: no snapshots in {src.layout.snapshots} (snapshot_every "
                         "not reached yet, or the directory was removed).")
        return sec
    rows = []
    for path in snaps:
        with np.load(path) as f:
            images = f["images"][:PROGRESSION_SAMPLES]
        step = _snapshot_step(path)
        img = writer.grid(f"progress_{step:07d}.png", images, PROGRESSION_SAMPLES,
                          f"step {step}", alt=f"fixed-input samples at step {step}")
        rows.append((f"step {step}", img))
    sec.items.append(LabeledRows(rows, ("snapshot", f"first {PROGRESSION_SAMPLES} fixed inputs")))
    return sec


def walks_section(src, writer: Writer, seed: int) -> Section:
    sec = Section("walks", "Latent walks",
                  f"{WALK_PAIRS} random pairs (z1, z2), {WALK_STEPS} steps each from z1 (left) to "
                  "z2 (right). Linear: (1-t) z1 + t z2. Spherical (slerp, the seeds' formula): "
                  "sin((1-t)a)/sin(a) z1 + sin(ta)/sin(a) z2 with cos(a) = z1.z2/(|z1||z2|); "
                  "smooth walks with no sudden jumps suggest a well-behaved latent space.")
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
        return sec
    latent = surface.latent_spec(src.specs)
    base = src.draw(2 * WALK_PAIRS, seed + 1)  # pair i: rows i and WALK_PAIRS + i; other inputs from row i
    z1, z2 = base[latent.name][:WALK_PAIRS], base[latent.name][WALK_PAIRS:]
    fixed = {k: np.repeat(v[:WALK_PAIRS], WALK_STEPS, axis=0) for k, v in base.items() if k != latent.name}
    group = []
    for method, title in (("linear", "linear (lerp)"), ("spherical", "spherical (slerp)")):
        path = interpolation_path(z1, z2, WALK_STEPS, method).reshape(-1, *latent.shape)
        group.append(writer.grid(f"walk_{method}.png", src.generate({**fixed, latent.name: path}), WALK_STEPS,
                                 title))
    sec.items.append(Group(group))
    return sec


def truncation_section(src, writer: Writer, seed: int) -> Section:
    how = src.truncation_method
    sec = Section("truncation", "Truncation sweep",
                  f"Columns: psi = {', '.join(f'{p:g}' for p in TRUNCATION_PSI)} (left to right), "
                  f"one row per latent; psi = 0 is the mean latent, psi = 1 the untruncated "
                  f"sample. Made with {how}.")
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
        return sec
    cols = [src.truncated(TRUNCATION_ROWS, seed + 2, psi) for psi in TRUNCATION_PSI]
    grid = np.stack(cols, axis=1).reshape((-1,) + cols[0].shape[1:])  # row = latent, col = psi
    sec.items.append(writer.grid("truncation.png", grid, len(TRUNCATION_PSI),
                                 "psi " + " / ".join(f"{p:g}" for p in TRUNCATION_PSI)))
    return sec


def classes_section(src, writer: Writer, seed: int) -> Section:
    sec = Section("classes", "Per-class samples",
                  f"Conditional models: one row per class label, {PER_CLASS} samples each.")
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
        return sec
    k = surface.categorical_spec(src.specs, "label").classes
    inputs = src.draw(k * PER_CLASS, seed + 3)
    inputs["label"] = np.repeat(np.arange(k), PER_CLASS).astype(np.int32)
    sec.items.append(writer.grid("classes.png", src.generate(inputs), PER_CLASS,
                                 f"rows: class 0 .. {k - 1}"))
    return sec


def _features(images, classifier):
    if classifier is None:
        return images.reshape(len(images), -1).astype(np.float32) / 255.0
    return classifier.features(images).astype(np.float32)


def neighbours_section(src, real, writer: Writer, seed: int, classifier=None,
                       classifier_note: str = "") -> Section:
    space = ("penultimate-layer features of the classifier " + str(classifier.path)
             if classifier is not None else "pixel space (L2 distance between raw pixels)")
    sec = Section("neighbours", "Nearest real neighbours",
                  f"Each row: a generated sample (leftmost column) and its {NEIGHBOURS} "
                  f"nearest real training images. Feature space: {space}. Near-copies would "
                  "suggest memorization.")
    if classifier_note:
        sec.notes.append(classifier_note)
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
        return sec
    if real is None:
        sec.notes.append("Missing: no real data to search (pass --data SOURCE).")
        return sec
    fake = src.generate(src.draw(SAMPLES, seed))[:NEIGHBOUR_QUERIES]
    fq, fr = _features(fake, classifier), _features(real, classifier)
    d2 = (np.sum(fq ** 2, 1)[:, None] - 2 * fq @ fr.T + np.sum(fr ** 2, 1)[None, :])
    nearest = np.argsort(d2, axis=1)[:, :NEIGHBOURS]
    rows = np.concatenate([fake[:, None], real[nearest]], axis=1)  # [Q, 1 + K, H, W, C]
    rows = rows.reshape((-1,) + fake.shape[1:])
    sec.items.append(writer.grid("neighbours.png", rows, NEIGHBOURS + 1,
                                 f"generated | {NEIGHBOURS} nearest real images ({len(real)} "
                                 "searched)"))
    dist = np.sqrt(np.maximum(np.take_along_axis(d2, nearest, 1), 0))
    sec.items.append(Table(["sample", *[f"distance to neighbour {i + 1}" for i in range(NEIGHBOURS)]],
                           [[str(i), *[f"{v:.3f}" for v in row]] for i, row in enumerate(dist)],
                           "distances in the feature space above"))
    return sec


def history_section(src, writer: Writer, out_dir: Path) -> Section:
    sec = Section("history", "Loss curves",
                  "From logs/history.csv, one point per log_every steps (Keras means over the "
                  "window).")
    if src.kind != "run":
        sec.notes.append("Not available from an exported SavedModel (no training logs).")
        return sec
    path = src.layout.history
    if not path.is_file():
        sec.notes.append(f"Missing: no training history ({path} does not exist).")
        return sec
    from kgan.gallery.plots import history_plots, read_history

    history = read_history(path)
    if not history.get("step"):
        sec.notes.append(f"Missing: {path} has no rows yet.")
        return sec
    sec.items.append(Group([writer.plot(p, title) for title, p in history_plots(history, out_dir)]))
    return sec


# ----------------------------------------------------------------------------- metrics report
def _fmt(v) -> str:
    return "-" if v is None else f"{v:.4f}"


def report_table(report: dict) -> Table:
    points = report.get("reference_points") or {}
    names = [k for k in ("real_vs_real", "pixel_gaussian") if k in points]
    names += [k for k in points if k not in names]
    headers = ["metric", "samples", *[k.replace("_", " ") for k in names]]
    rows = []
    for metric, result in (report.get("metrics") or {}).items():
        others = [(points[k].get("metrics") or {}).get(metric) for k in names]
        other_heads = [dict(headline(metric, o)) if o is not None else {} for o in others]
        for label, value in headline(metric, result):
            rows.append([label, _fmt(value), *[_fmt(h.get(label)) for h in other_heads]])
    ex = report.get("extractor") or {}
    caption = (f"extractor: {ex.get('name', '?')}, resize: {report.get('resize', '?')}, "
               f"samples: {report.get('num_samples', '?')}, reference: "
               f"{report.get('num_reference', '?')} ({report.get('reference', '?')})")
    return Table(headers, rows, caption)


def _report_step(path: Path, report: dict):
    step = report.get("step")
    if isinstance(step, (int, float)):
        return step
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else None


def evaluation_section(src, writer: Writer, out_dir: Path, report_path: Path | None) -> Section:
    sec = Section("evaluation", "Evaluation",
                  "Metric values next to the two reference points: real-vs-real (two halves of "
                  "the real data: the best one can hope for) and the per-pixel Gaussian (a "
                  "trivially bad model).")
    candidates = [report_path] if report_path else [src.path / "report.json",
                                                     src.path.parent / "report.json"]
    if report_path and not report_path.is_file():
        sec.notes.append(f"Missing: metrics report {report_path} does not exist.")
        candidates = []
    found = next((p for p in candidates if p and p.is_file()), None)
    if found is None and not sec.notes:
        sec.notes.append("Missing: no metrics report (RUN/report.json); run `kgan evaluate ... "
                         "--out RUN/report.json` or pass --report.")
    if found is not None:
        try:
            report = json.loads(found.read_text())
            table = report_table(report)
            table.caption = f"{found.name}: {table.caption}"
            sec.items.append(table)
        except (json.JSONDecodeError, AttributeError, TypeError) as e:
            sec.notes.append(f"Unreadable metrics report {found}: {e}")
    # Metric history: several reports with a step (RUN/reports/*.json), plotted vs step.
    history_dir = src.layout.reports if src.kind == "run" else src.path / "reports"
    points: dict[str, list[tuple[float, float]]] = {}
    for path in sorted(history_dir.glob("*.json")) if history_dir.is_dir() else []:
        try:
            rep = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        step = _report_step(path, rep)
        if step is None:
            continue
        for metric, result in (rep.get("metrics") or {}).items():
            for label, value in headline(metric, result):
                points.setdefault(label, []).append((step, value))
    if any(len(v) >= 2 for v in points.values()):
        from kgan.gallery.plots import line_plot

        images = []
        for i, (label, pts) in enumerate(sorted(points.items())):
            pts.sort()
            p = line_plot(out_dir / f"metric_{i:02d}.png", [s for s, _ in pts],
                          {label: [v for _, v in pts]}, f"{label} vs step")
            images.append(writer.plot(p, label))
        sec.items.append(Text("Metric history (RUN/reports/*.json):"))
        sec.items.append(Group(images))
    else:
        sec.notes.append("No metric history: fewer than two per-step reports in RUN/reports/.")
    return sec
