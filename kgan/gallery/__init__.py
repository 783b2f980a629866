"""HTML sample gallery for a training run or a SavedModel export, and a page comparing several.

`render_gallery(run_or_saved_model, out_dir)` writes a self-contained directory (`index.html`
with inline CSS, PNG images, relative links; no scripts, no server, no network), responsive down to
a phone's width:

- training warnings (divergence restores, collapse warnings from logs/events.log) at the top,
- random samples (fixed seed) beside real data,
- training progression (the fixed inputs at every snapshot),
- linear and spherical latent walks and a truncation sweep (models with a normal input),
- per-class rows (a class label input) or rows by the classifier's predicted class (unconditional
  models), latent-code traversals (other categorical/uniform inputs),
- input | output | target rows (models whose inputs come from data; their progression shows triptychs
  of the fixed held-out examples), one input with K outputs and their per-pixel std (models that
  declare inference noise), nearest real neighbours over
  every real image with the real-to-real reference distance,
- loss curves (logs/history.csv), metric history and the evaluation table (report.json).
Which sections apply follows from the model's declared inputs; the others are named at the top.
`compare.render_compare(sources, out_dir)` puts runs or exports of one data set on one page.

Modules: `source` (run/export behind one interface), `sections` (page model, sample sections),
`neighbours`, `predicted`, `evaluation` (report tables, metric history), `codes` (traversals),
`paired` (data-fed rows), `diversity` (output diversity), `plots` (matplotlib, Agg), `html` (the
page), `render` (orchestration, atomic write), `compare` (the comparison page).
"""

from kgan.gallery.render import render_gallery

__all__ = ["render_gallery"]
