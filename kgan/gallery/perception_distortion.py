"""The perception-distortion plane (Blau & Michaeli 2018; EPSR's figure) of any metrics report.

A restoration model cannot be best at both: the pixel-exact mean of the plausible images (what a pixel loss
learns) is blurry, and a sharp, realistic image is never exactly the target. So one number per model hides the
trade-off. Every column of a report that has both numbers becomes a labelled point: FID on x (perception: how
far the outputs' distribution is from real images; lower is better) and PSNR on y (distortion: how far each
output is from its own target; higher is better). The columns are the model, then the reference points in table
order (real vs real, identity, the classical inverse: bicubic / wiener, then baselines such as `pixel_only` or
`adversarial_weight:W`), whatever model made the report. The pixel Gaussian is left out: a trivially bad model
orders of magnitude away in FID, it would squash every other point into a corner (the table has its numbers). The pipeline's `Evaluate` writes the
plot beside its report (`write_beside`), the gallery and the restoration benchmark draw it with `plot`.
"""

from __future__ import annotations

import math
from pathlib import Path

from kgan.gallery.plots import new_figure, save_png
from kgan.metrics.report import headline_rows, point_order

#: (metric, axis label): x, then y
AXES = (("fid", "FID (lower: more like real images)"), ("psnr", "PSNR dB (higher: closer to each target)"))
SUFFIX = "_perception_distortion.png"
LEFT_OUT = ("pixel_gaussian",)


def _value(metrics: dict, name: str) -> float | None:
    rows = headline_rows(name, metrics[name]) if name in metrics else []
    return rows[0][2] if rows else None


def points(report: dict, label: str = "model") -> list[dict]:
    """[{"column", "fid", "psnr"}] of every column of `report` with both numbers: the model (`label`), then its
    reference points in table order (but `LEFT_OUT`)."""
    refs = report.get("reference_points") or {}
    columns = [(label, report.get("metrics") or {})]
    columns += [(name.replace("_", " "), refs[name].get("metrics") or {}) for name in point_order(refs)
                if name not in LEFT_OUT]
    out = []
    for column, metrics in columns:
        x, y = (_value(metrics, name) for name, _ in AXES)
        if x is not None and y is not None:
            out.append({"column": column, AXES[0][0]: x, AXES[1][0]: y})
    return out


def missing(report: dict | None) -> str:
    """Why a report has no perception-distortion plot ("" when it has one)."""
    if report is None:
        return "Perception-distortion plot: no metrics report"
    absent = [name for name, _ in AXES if name not in (report.get("metrics") or {})]
    if absent:
        return (f"Perception-distortion plot: the report has no {' and no '.join(absent)} "
                "(it needs FID and the paired PSNR of an image-to-image model)")
    return ""


def figure(found: list[dict], title: str = "Perception-distortion trade-off (better: up and left)"):
    """The plot of `points`: the model's point (the first) filled, the reference points hollow, each labelled.
    FID on a log axis when every value is positive: real vs real and the pixel Gaussian lie orders of magnitude
    apart."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    (x_name, x_label), (y_name, y_label) = AXES
    xs = [p[x_name] for p in found]
    log = bool(found) and min(xs) > 0
    scaled = [math.log10(x) for x in xs] if log else xs
    middle = (min(scaled, default=0) + max(scaled, default=0)) / 2
    for i, (p, x) in enumerate(zip(found, scaled)):
        ax.scatter([p[x_name]], [p[y_name]], s=40 if i == 0 else 28, zorder=3,
                   color="tab:red" if i == 0 else "none", edgecolors="tab:red" if i == 0 else "tab:blue")
        right = x > middle  # labels of the right half to the left of their point: none leaves the axes
        above = i % 2 == 0  # alternately above and below: close points (a model and its baseline) stay readable
        ax.annotate(p["column"], (p[x_name], p[y_name]), textcoords="offset points",
                    xytext=(-5 if right else 5, 4 if above else -4), va="bottom" if above else "top",
                    ha="right" if right else "left", fontsize="small", fontweight="bold" if i == 0 else "normal")
    if log:
        ax.set_xscale("log")
        plain = FuncFormatter(lambda v, _: f"{v:g}")
        ax.xaxis.set_major_formatter(plain)  # 10, not 10^1
        ax.xaxis.set_minor_formatter(plain if max(scaled) - min(scaled) < 1.5 else NullFormatter())
    else:
        ax.ticklabel_format(axis="x", style="plain", useOffset=False)
    ax.ticklabel_format(axis="y", style="plain", useOffset=False)
    ax.set_title(title)
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.grid(True, alpha=0.3)
    ax.margins(0.15)
    fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.15)
    return fig


def plot(report: dict, path: str | Path, label: str = "model") -> list[dict]:
    """Write the report's perception-distortion plot to `path` (PNG, temp + rename); the points it shows.
    A report without both metrics is refused with the reason (`missing`)."""
    reason = missing(report)
    if reason:
        raise ValueError(reason)
    found = points(report, label)
    save_png(figure(found), Path(path))
    return found


def write_beside(report: dict, report_path: str | Path, label: str = "model") -> dict:
    """The report with its plot written next to `report_path` (`<stem>_perception_distortion.png`) and recorded
    under `perception_distortion` (`plot`: the PNG's path, `points`: what it shows); unchanged when the report
    lacks FID or PSNR."""
    if missing(report):
        return report
    path = Path(report_path).resolve()
    path = path.with_name(path.stem + SUFFIX)
    return {**report, "perception_distortion": {"plot": str(path), "points": plot(report, path, label)}}
