"""HTML sample gallery for a training run or a SavedModel export.

`render_gallery(run_or_saved_model, out_dir)` writes a self-contained directory (`index.html`
with inline CSS, PNG images, relative links; no scripts, no server, no network):

- random samples (fixed seed) beside real data,
- training progression (fixed z at every snapshot),
- linear and spherical latent walks and a truncation sweep,
- per-class rows (conditional models) and nearest real neighbours,
- loss curves (logs/history.csv), metric history and the evaluation table (report.json).

Modules: `source` (run/export behind one interface), `sections` (collecting each section and its
files), `plots` (matplotlib, Agg), `html` (the page), `render` (orchestration, atomic write).
"""

from kgan.gallery.render import render_gallery

__all__ = ["render_gallery"]
