"""InfoGAN latent-code traversals: vary one code, keep z and the other codes fixed.

- categorical: one row per z (fixed continuous codes = 0), one column per value of c_cat;
- each continuous code: one row per c_cat value (z fixed), columns sweep the code over [-2, 2] (the prior
  is U(-1, 1); the paper's Figure 2 shows -2..2 to test extrapolation) with the other codes at 0.

Shown for models that expose InfoGAN codes (`gan.categorical`, `gan.continuous`; `applies`). Only run
sources carry the codes' sizes; an export with code inputs gets a note.
"""

from __future__ import annotations

import numpy as np

from kgan.gallery.sections import Section

ROWS = 8
STEPS = 9
SWEEP = (-2.0, 2.0)


def _codes_model(src):
    gan = getattr(src, "gan", None)
    return gan if gan is not None and hasattr(gan, "categorical") and hasattr(gan, "code_specs") else None


def applies(src) -> bool:
    """The section is shown for models with latent codes (runs, and exports with code inputs)."""
    return _codes_model(src) is not None or "code_cat" in getattr(src, "_spec", {})


def traversal_grids(gan, seed: int = 0, rows: int = ROWS, steps: int = STEPS) -> dict:
    """{name: (uint8 images [rows * cols, H, W, C], cols)} for the categorical code and each continuous code."""
    from kgan.imageio import to_uint8

    k, n = gan.categorical, gan.continuous
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((rows, gan.latent_dim)).astype(np.float32)
    out = {}
    zz = np.repeat(z, k, axis=0)
    cat = np.tile(np.arange(k), rows).astype(np.int32)
    codes = {"code_cat": cat}
    if n:
        codes["code_cont"] = np.zeros((len(zz), n), np.float32)
    out["code_cat"] = (to_uint8(gan.generate(zz, codes)), k)
    sweep = np.linspace(SWEEP[0], SWEEP[1], steps).astype(np.float32)
    for j in range(n):
        rows_cat = np.arange(min(k, rows)).astype(np.int32)
        zz = np.repeat(np.repeat(z[:1], len(rows_cat), axis=0), steps, axis=0)
        cont = np.zeros((len(zz), n), np.float32)
        cont[:, j] = np.tile(sweep, len(rows_cat))
        images = gan.generate(zz, {"code_cat": np.repeat(rows_cat, steps), "code_cont": cont})
        out[f"code_cont_{j}"] = (to_uint8(images), steps)
    return out


def codes_section(src, writer, seed: int) -> Section:
    sec = Section("codes", "Latent-code traversals (InfoGAN)",
                  "Vary one code, keep z and the other codes fixed: rows = z (categorical) or c_cat value "
                  f"(continuous), columns = the code's values (continuous: {SWEEP[0]:g} .. {SWEEP[1]:g}).")
    gan = _codes_model(src)
    if gan is None:
        if src.kind == "export" and "code_cat" in getattr(src, "_spec", {}):
            sec.notes.append("Not available for exports yet: render the gallery from the run directory.")
        else:
            sec.notes.append("Not applicable: the model has no latent codes (InfoGAN only).")
        return sec
    for name, (images, cols) in traversal_grids(gan, seed + 5).items():
        caption = ("columns: c_cat = 0 .. K-1, rows: z" if name == "code_cat"
                   else f"columns: {name} from {SWEEP[0]:g} to {SWEEP[1]:g}, rows: c_cat")
        sec.items.append(writer.grid(f"traversal_{name}.png", images, cols, caption))
    return sec
