"""The comparison page: several runs or exports of one data set on one page.

A metrics table (each source's report.json beside the first report's real-vs-real and pixel-Gaussian
reference points), sample grids from one seed side by side, and each metric's history of every run on
one plot (FID over training). Sources trained on different data sets are refused: their numbers are
not on one scale.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import kgan
from kgan.errors import UsageError
from kgan.gallery import evaluation, html, sections
from kgan.gallery.render import check_out
from kgan.gallery.source import data_source, open_source, real_images
from kgan.io import atomic_path
from kgan.metrics.history import read_history



def _one_data_set(srcs, paths, data: str | None) -> str | None:
    """The data set every source was trained on (`data` for those that do not say); refuse a mix."""
    named = {str(p): (data_source(s) or (data, "--data", None))[0] for s, p in zip(srcs, paths)}
    if data:
        named["--data"] = data
    known = {d for d in named.values() if d}
    if len(known) > 1:
        raise UsageError("compare: the sources are of different data sets ("
                         + ", ".join(f"{k}: {v or 'unknown'}" for k, v in named.items())
                         + "); compare runs or models of one data set")
    return next(iter(known), None)


def _metrics_section(srcs, labels, data: str | None) -> sections.Section:
    sec = sections.Section("metrics", "Metrics",
                           "Each source's report.json, next to the reference points of the first report: "
                           "real vs real (the best one can hope for) and the per-pixel Gaussian (a trivially "
                           "bad model).")
    columns, described = [], set()
    for src, label in zip(srcs, labels):
        report, _, note = evaluation.find_report(src)
        if report is None:
            sec.notes.append(f"{label}: {note} Make one with: "
                             f"{evaluation.evaluate_command(src, data, None)}")
            continue
        columns.append((label, report))
        described.add(evaluation.describe(report))
    if columns:
        table = evaluation.metrics_table(columns)
        table.caption = "; ".join(sorted(described))
        sec.items.append(table)
    if len(described) > 1:
        sec.notes.append("The reports were made with different extractors or sample counts; their numbers are "
                         "not directly comparable.")
    return sec


def _samples_section(srcs, labels, real, writer, seed: int) -> sections.Section:
    sec = sections.Section("samples", "Samples",
                           f"{sections.SAMPLES} samples per source from inputs drawn with seed {seed}, and real "
                           "data.")
    grids = []
    for i, (src, label) in enumerate(zip(srcs, labels)):
        if not src.available:
            sec.notes.append(f"{label}: no model ({src.unavailable}).")
        elif not all(s.drawable for s in src.specs):
            sec.notes.append(f"{label}: its inputs come from data; no random samples.")
        else:
            grids.append(writer.grid(f"samples_{i}.png", src.generate(src.draw(sections.SAMPLES, seed)),
                                     sections.SAMPLE_COLS, label))
    if real is not None:
        pick = np.random.default_rng(seed).permutation(real.count)[:sections.SAMPLES]
        grids.append(writer.grid("real.png", real.images_at(real.index_at(np.sort(pick))), sections.SAMPLE_COLS,
                                 "real data"))
    if grids:
        sec.items.append(sections.Group(grids, columns=min(len(grids), 3)))
    return sec


def _history_section(srcs, labels, writer, out_dir: Path) -> sections.Section:
    from kgan.gallery.plots import line_plot

    sec = sections.Section("history", "Metrics over training",
                           "Each run's metric history (RUN/reports/*.json, a few samples every "
                           "eval.history_every steps), all runs on one plot per metric.")
    histories = {}
    for src, label in zip(srcs, labels):
        history = read_history(evaluation.history_reports(src))
        if history:
            histories[label] = history
        else:
            sec.notes.append(f"{label}: no metric history ({evaluation.history_reports(src)}).")
    metrics = sorted({m for h in histories.values() for m in h})
    images = []
    for i, metric in enumerate(metrics):
        series = {label: ([s for s, _ in h[metric]], [v for _, v in h[metric]])
                  for label, h in histories.items() if metric in h}
        path = line_plot(out_dir / f"metric_{i:02d}.png", series, f"{metric} vs step")
        images.append(writer.plot(path, metric))
    if images:
        sec.items.append(sections.Group(images))
    return sec


def render_compare(sources: list[str | Path], out_dir: str | Path, *, data: str | None = None,
                   data_dir: str | None = None, seed: int = 0) -> Path:
    """Write `index.html` + images comparing `sources` (run directories or exports) into `out_dir`,
    replaced atomically. Returns index.html's path."""
    paths, out_dir = [Path(s) for s in sources], Path(out_dir)
    srcs = [open_source(p) for p in paths]  # CheckpointError for a missing path
    for p in paths:
        check_out(out_dir, p)
    data = _one_data_set(srcs, paths, data)
    labels = [f"{i + 1}. {s.name or p.name}" for i, (s, p) in enumerate(zip(srcs, paths))]
    real, real_note = real_images(srcs[0], data, data_dir)
    scale = sections.auto_scale(srcs[0].image_shape or (28, 28, 1))
    with atomic_path(out_dir, directory=True) as tmp:
        writer = sections.Writer(tmp, scale)
        secs = [_metrics_section(srcs, labels, data), _samples_section(srcs, labels, real, writer, seed),
                _history_section(srcs, labels, writer, tmp)]
        if real_note:
            secs[1].notes.append(real_note)
        meta = [(label, f"{'training run' if s.kind == 'run' else 'SavedModel export'}: {p}, step "
                        f"{s.step if s.step is not None else 'unknown'}")
                for label, s, p in zip(labels, srcs, paths)]
        meta.append(("data set", data or "unknown"))
        (tmp / "index.html").write_text(html.page(
            "kgan compare: " + " vs ".join(labels), meta, secs, f"kgan {kgan.__version__}"))
    return out_dir / "index.html"
