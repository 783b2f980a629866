"""The growth section of a growing run (progressive growing): the same fixed inputs at the end of every resolution,
each served at the final size, and ProGAN's table 1 per resolution (SWD per Laplacian-pyramid level and MS-SSIM),
from the files training wrote (`kgan.stages`)."""

from __future__ import annotations

import numpy as np

from kgan import stages
from kgan.gallery.sections import PROGRESSION_SAMPLES, LabeledRows, Section, Table

TITLE = "Growth: every resolution"


def not_shown(src) -> dict[str, str]:
    """{"growth": reason} for a source without resolution stages (an export, or a run that does not grow)."""
    if src.kind != "run":
        return {"growth": f"{TITLE}: the per-resolution snapshots are in the training run, not in an export"}
    if not stages.resolution_ends(_plan(src)):
        return {"growth": f"{TITLE}: the run does not grow (its phases name no several resolutions)"}
    return {}


def _plan(src):
    from kgan import phases

    return phases.plan(src.cfg)


def growth_section(src, writer) -> Section:
    sec = Section("growth", TITLE,
                  f"The same first {PROGRESSION_SAMPLES} fixed inputs at the end of each resolution (nearest-upsampled "
                  "to the final size), and per resolution the sliced Wasserstein distance (x1e3) between samples and "
                  "the training data at that resolution on each Laplacian-pyramid level, with the multi-scale SSIM "
                  "among samples (lower = more diverse; compare with the real images' own): Karras et al. 2018, "
                  "table 1.")
    rows = []
    for resolution in sorted(set(stages.resolution_ends(_plan(src)).values())):
        path = stages.snapshot_path(src.path, resolution)
        if not path.is_file():
            sec.notes.append(f"Missing: {path.name} (the run has not finished {resolution}x{resolution} yet)")
            continue
        with np.load(path) as f:
            images, step = f["images"][:PROGRESSION_SAMPLES], int(f["step"])
        label = f"{resolution}x{resolution} (step {step})"
        rows.append((label, writer.grid(f"growth_{resolution:04d}.png", images, PROGRESSION_SAMPLES, label,
                                        alt=f"fixed-input samples at the end of {resolution}x{resolution}")))
    if rows:
        sec.items.append(LabeledRows(rows, ("resolution", f"first {PROGRESSION_SAMPLES} fixed inputs")))
    measured = stages.read_stages(src.path)
    if measured:
        headers, body = stages.table(measured)
        sec.items.append(Table(headers, body, f"on {measured[-1]['num_images']} samples and real images per "
                                              "resolution (eval.history_samples)"))
    return sec
