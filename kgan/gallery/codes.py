"""Latent-code traversals: vary one categorical or uniform input, keep every other input fixed.

Shown for any model whose declared inputs include categorical or uniform inputs besides the class
label (`traversable`), from a run or an export alike:
- a categorical input with K values: one row per fixed draw of the other inputs, one column per value;
- each dimension of a uniform input U(low, high): columns sweep it over mid +- (high - low), twice the
  prior's half-width on each side (U(-1, 1): -2 .. 2) to show extrapolation, with its other dimensions
  at the midpoint; one row per fixed draw of the other inputs.
Uniform inputs that are not being swept sit at their midpoint.
"""

from __future__ import annotations

import numpy as np

from kgan.gallery.sections import Section
from kgan.models import surface

ROWS = 8
STEPS = 9


def traversable(specs) -> list:
    """The inputs a traversal varies: categorical and uniform inputs other than the class label."""
    return [s for s in specs if s.draw in ("categorical", "uniform") and s.name != "label"]


def _sweep(spec, steps: int) -> np.ndarray:
    mid, width = (spec.low + spec.high) / 2, spec.high - spec.low
    return np.linspace(mid - width, mid + width, steps).astype(np.float32)


def traversal_grids(specs, generate, seed: int = 0, rows: int = ROWS, steps: int = STEPS) -> dict:
    """{key: (uint8 images [rows * cols, H, W, C], cols, caption)}: one grid per categorical input (key: its
    name) and per dimension j of each uniform input (key: f"{name}_{j}"). `generate(inputs) -> uint8` renders."""
    base = surface.draw_numpy(specs, rows, np.random.default_rng(seed), cycle=True)
    for spec in traversable(specs):
        if spec.draw == "uniform":
            base[spec.name] = np.full_like(base[spec.name], (spec.low + spec.high) / 2)
    out = {}
    for spec in traversable(specs):
        if spec.draw == "categorical":
            cols = spec.classes
            inputs = {k: np.repeat(v, cols, axis=0) for k, v in base.items()}
            values = np.tile(np.arange(cols, dtype=np.int32), rows).reshape((-1,) + (1,) * len(spec.shape))
            inputs[spec.name] = np.broadcast_to(values, inputs[spec.name].shape).astype(np.int32)
            out[spec.name] = (generate(inputs), cols, f"columns: {spec.name} = 0 .. {cols - 1}")
            continue
        sweep = _sweep(spec, steps)
        for j in range(int(np.prod(spec.shape, dtype=int))):
            inputs = {k: np.repeat(v, steps, axis=0) for k, v in base.items()}
            flat = inputs[spec.name].reshape(len(inputs[spec.name]), -1).copy()
            flat[:, j] = np.tile(sweep, rows)
            inputs[spec.name] = flat.reshape(inputs[spec.name].shape)
            out[f"{spec.name}_{j}"] = (generate(inputs), steps,
                                       f"columns: {spec.name}[{j}] from {sweep[0]:g} to {sweep[-1]:g}")
    return out


def codes_section(src, writer, seed: int) -> Section:
    sec = Section("codes", "Latent-code traversals",
                  "Vary one input, keep the others fixed: rows = fixed draws of the other inputs, columns = the "
                  "varied input's values (categorical: 0 .. K-1; uniform U(a, b): mid - (b - a) .. mid + (b - a)).")
    if sec.lacks_model(src):
        return sec
    for key, (images, cols, caption) in traversal_grids(src.specs, src.generate, seed + 5).items():
        sec.items.append(writer.grid(f"traversal_{key}.png", images, cols, caption))
    return sec
