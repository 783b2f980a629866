"""Collecting the gallery's sections: each builder writes its files and returns a `Section`.

A builder never fails the gallery for a missing piece (no snapshots, no history, no report, no
model): it returns a section with a `notes` entry saying what is missing, and the page shows it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgan import triptych
from kgan.imageio import write_grid_png
from kgan.latent import interpolation_path
from kgan.models import surface

SAMPLES = 64
SAMPLE_COLS = 8
PROGRESSION_SAMPLES = 8
WALK_PAIRS = 4
WALK_STEPS = 10
TRUNCATION_PSI = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
TRUNCATION_ROWS = 6
PER_CLASS = 10


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
    """Items shown side by side: wrapping as the width allows, or (`columns` > 0) in that many columns that
    shrink their images rather than wrap, down to one column on a narrow screen."""

    items: list
    columns: int = 0


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

    def lacks_model(self, src) -> bool:
        """Notes that no model could be loaded (`src.unavailable`); True then: the section shows nothing more."""
        if src.available:
            return False
        self.notes.append(f"Missing: no model ({src.unavailable}).")
        return True


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
                                            f"generated (seed {seed})")], columns=2))
    if real is not None:
        pick = np.random.default_rng(seed).permutation(real.count)[:SAMPLES]
        img = writer.grid("real.png", real.images_at(real.index_at(np.sort(pick))), SAMPLE_COLS, "real data")
        if sec.items:
            sec.items[0].items.append(img)
        else:
            sec.items.append(Group([img], columns=2))
    if real_note:
        sec.notes.append(real_note)
    return sec


def _snapshot_step(path: Path) -> int:
    m = re.search(r"(\d+)", path.stem)
    return int(m.group(1)) if m else -1


def _examples_note(src) -> str:
    from kgan.data.features import evaluation_split

    if evaluation_split(src.cfg.data) == "holdout":
        return "held-out examples"
    return "training examples (the run holds none out: data.holdout = 0)"


def progression_section(src, writer: Writer) -> Section:
    if surface.data_features(src.specs):
        which = _examples_note(src) if src.kind == "run" else "examples"
        intro = (f"The same first {triptych.PER_ROW} fixed {which} (snapshots/fixed_inputs.npz and "
                 "fixed_targets.npz) as input | output | target at every snapshot, one row per snapshot.")
    else:
        intro = (f"The same first {PROGRESSION_SAMPLES} fixed inputs (snapshots/fixed_inputs.npz) rendered at "
                 "every snapshot, one row per snapshot.")
    sec = Section("progression", "Training progression", intro)
    if src.kind != "run":
        sec.notes.append("Not available from an exported SavedModel (no training snapshots); "
                         "render the gallery from the run directory to see it.")
        return sec
    snaps = sorted(src.layout.snapshots.glob("step_*.npz"), key=_snapshot_step)
    if not snaps:
        sec.notes.append(f"Missing: no snapshots in {src.layout.snapshots} (snapshot_every "
                         "not reached yet, or the directory was removed).")
        return sec
    rows, header = [], f"first {PROGRESSION_SAMPLES} fixed inputs"
    for path in snaps:
        step = _snapshot_step(path)
        with np.load(path) as f:
            if "triptych" in f.files:  # a model fed from data: input | output | target per example
                grid = f["triptych"][:triptych.PER_ROW]
                images, cols = triptych.flat(grid), triptych.PER_ROW * grid.shape[1]
                header = f"first {len(grid)} fixed examples: " + " | ".join(map(str, f["columns"]))
            else:
                images, cols = f["images"][:PROGRESSION_SAMPLES], PROGRESSION_SAMPLES
        img = writer.grid(f"progress_{step:07d}.png", images, cols, f"step {step}",
                          alt=f"fixed-input samples at step {step}")
        rows.append((f"step {step}", img))
    sec.items.append(LabeledRows(rows, ("snapshot", header)))
    return sec


def walks_section(src, writer: Writer, seed: int) -> Section:
    sec = Section("walks", "Latent walks",
                  f"{WALK_PAIRS} random pairs (z1, z2), {WALK_STEPS} steps each from z1 (left) to "
                  "z2 (right). Linear: (1-t) z1 + t z2. Spherical (slerp, the seeds' formula): "
                  "sin((1-t)a)/sin(a) z1 + sin(ta)/sin(a) z2 with cos(a) = z1.z2/(|z1||z2|); "
                  "smooth walks with no sudden jumps suggest a well-behaved latent space.")
    if sec.lacks_model(src):
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
    if sec.lacks_model(src):
        return sec
    cols = [src.truncated(TRUNCATION_ROWS, seed + 2, psi) for psi in TRUNCATION_PSI]
    grid = np.stack(cols, axis=1).reshape((-1,) + cols[0].shape[1:])  # row = latent, col = psi
    sec.items.append(writer.grid("truncation.png", grid, len(TRUNCATION_PSI),
                                 "psi " + " / ".join(f"{p:g}" for p in TRUNCATION_PSI)))
    return sec


def classes_section(src, writer: Writer, seed: int) -> Section:
    sec = Section("classes", "Per-class samples",
                  f"Conditional models: one row per class label, {PER_CLASS} samples each.")
    if sec.lacks_model(src):
        return sec
    k = surface.categorical_spec(src.specs, "label").classes
    inputs = src.draw(k * PER_CLASS, seed + 3)
    inputs["label"] = np.repeat(np.arange(k), PER_CLASS).astype(np.int32)
    sec.items.append(writer.grid("classes.png", src.generate(inputs), PER_CLASS,
                                 f"rows: class 0 .. {k - 1}"))
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
