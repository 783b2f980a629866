"""Matplotlib plots for the gallery (Agg canvas directly: no pyplot, no global backend switch).

Every figure is saved at a fixed size (`FIGSIZE` x `DPI`, no tight bbox) so the page can give each
<img> its real width and height. Tick labels are plain numbers: matplotlib's default offset notation
turns a flat IS curve into an axis labelled `1e-7+1.000002`, which nobody reads at a glance.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from kgan.io import atomic_path

FIGSIZE = (6.4, 3.6)
DPI = 100
SIZE = (int(FIGSIZE[0] * DPI), int(FIGSIZE[1] * DPI))  # (width, height) in pixels

# history.csv columns grouped into one plot each; anything unlisted (except bookkeeping) goes to
# "other terms".
GROUPS = (
    ("losses", "Losses", lambda c: c.endswith("loss")),
    ("d_outputs", "Discriminator outputs", lambda c: c in ("d_real", "d_fake") or c.startswith("d_acc")),
    ("w_distance", "Wasserstein estimate", lambda c: c == "w_distance"),
    ("penalties", "Penalties and auxiliary terms",
     lambda c: c in ("gp", "r1", "feature_matching") or c.endswith("_penalty")),
    ("overfitting", "Critic on training vs held-out reals (overfitting)",
     lambda c: c.endswith(("_real_train", "_real_holdout", "_real_gap"))),
    ("augmentation", "ADA: augmentation probability p and r_t = E[sign D(real)]", lambda c: c.startswith("ada_")),
    ("throughput", "Throughput (images/s)", lambda c: c == "images_per_sec"),
)
BOOKKEEPING = {"step", "wall_time", "nonfinite"}


def read_history(path: str | Path) -> dict[str, list[float]]:
    """history.csv -> {column: values}; non-numeric cells become NaN."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    cols: dict[str, list[float]] = {}
    for row in rows:
        for k, v in row.items():
            if k is None:
                continue
            try:
                cols.setdefault(k, []).append(float(v))
            except (TypeError, ValueError):
                cols.setdefault(k, []).append(math.nan)
    return cols


def group_columns(columns) -> list[tuple[str, str, list[str]]]:
    """[(slug, title, [columns])] for the columns present, plus 'other' for the rest."""
    left = [c for c in columns if c not in BOOKKEEPING]
    out = []
    for slug, title, pick in GROUPS:
        chosen = [c for c in left if pick(c)]
        if chosen:
            out.append((slug, title, chosen))
            left = [c for c in left if c not in chosen]
    if left:
        out.append(("other", "Other logged terms", left))
    return out


def new_figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def save_png(fig, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def plain_ticks(ax) -> None:
    """Both axes without offset or scientific notation."""
    ax.ticklabel_format(axis="both", style="plain", useOffset=False)


def line_figure(series: dict[str, tuple[list, list[float]]], title: str, xlabel: str = "step",
                ylabel: str = ""):
    """A figure with one line per {name: (x, y)}."""
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    for name, (x, y) in series.items():
        ax.plot(x, y, label=name, marker="o" if len(x) < 30 else None, markersize=3)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    plain_ticks(ax)
    if series:
        ax.legend(loc="best", fontsize="small")
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    return fig


def line_plot(path: Path, series: dict[str, tuple[list, list[float]]], title: str, xlabel: str = "step",
              ylabel: str = "") -> Path:
    return save_png(line_figure(series, title, xlabel, ylabel), path)


def history_plots(history: dict[str, list[float]], out_dir: Path) -> list[tuple[str, Path]]:
    """One PNG per column group, x = step; returns [(title, path)]."""
    steps = history.get("step") or list(range(1, 1 + max(map(len, history.values()), default=0)))
    out = []
    for slug, title, cols in group_columns(history):
        path = line_plot(out_dir / f"history_{slug}.png", {c: (steps, history[c]) for c in cols}, title)
        out.append((title, path))
    return out
