"""HTML sample gallery for a training run or a SavedModel export.

`render_gallery(run_or_saved_model, out_dir)` writes a self-contained directory (`index.html`
with inline CSS, PNG images, relative links; no scripts, no server, no network):

- random samples (fixed seed) beside real data,
- training progression (the fixed inputs at every snapshot),
- linear and spherical latent walks and a truncation sweep (models with a normal input),
- per-class rows (a class label input), latent-code traversals (other categorical/uniform inputs),
- input | output | target rows (models whose inputs come from data), nearest real neighbours,
- loss curves (logs/history.csv), metric history and the evaluation table (report.json).
Which sections apply follows from the model's declared inputs; the others are named at the top.

Modules: `source` (run/export behind one interface), `sections` (collecting each section and its
files), `codes` (traversals), `paired` (data-fed rows), `plots` (matplotlib, Agg), `html` (the page),
`render` (orchestration, atomic write).
"""

from kgan.gallery.render import render_gallery

__all__ = ["render_gallery"]
