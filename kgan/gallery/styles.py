"""The style-mixing grids of a model that declares style mixing (`surface.StyleMixing`; StyleGAN's `mix`).

One grid per resolution boundary: the top row holds the sources B, the left column the sources A, and cell
(i, j) is the image whose coarse styles (the layers up to that resolution) come from A_i and the rest from B_j,
as in the seeds' "Mixing Style B into Source A". Every other input of the mixing direction (psi, the noise seed)
is drawn once per row and kept along it, so a row differs only by B's styles.
"""

from __future__ import annotations

import numpy as np

from kgan.gallery.sections import Group, Section
from kgan.models import surface

SOURCES = 5  # sources A (rows) and B (columns)


def crossovers(layer_resolutions) -> list[tuple[int, int]]:
    """(crossover, resolution) for every boundary between resolutions: layers < crossover are those up to it."""
    return [(i + 1, r) for i, r in enumerate(layer_resolutions[:-1]) if layer_resolutions[i + 1] != r]


def _mixes(mix, mixing: surface.StyleMixing, row: dict, sources_b: np.ndarray, crossover: int) -> np.ndarray:
    """Row's inputs (one example) with each of `sources_b` as B, mixed at `crossover`."""
    n = len(sources_b)
    inputs = {k: np.repeat(v, n, axis=0) for k, v in row.items()}
    inputs[mixing.sources[1]] = sources_b
    inputs[mixing.crossover] = np.full(n, crossover, np.int32)
    return mix(inputs)


def mixing_grid(mix, mixing: surface.StyleMixing, specs, crossover: int, seed: int,
                sources: int = SOURCES) -> np.ndarray:
    """(sources + 1)^2 uint8 images: a blank corner, B along the top, A down the left, the mixes inside.
    `mix`: the mixing direction's named inputs -> uint8 images; `specs`: its declared inputs."""
    drawn = surface.fixed_inputs(specs, sources, seed)
    sources_b, layers = drawn[mixing.sources[1]], len(mixing.layer_resolutions)
    rows = [{k: v[i:i + 1] for k, v in drawn.items()} for i in range(sources)]
    top = _mixes(mix, mixing, rows[0], sources_b, 0)  # crossover 0: every style from B
    grid = [np.zeros_like(top[:1]), top]
    for row in rows:
        grid += [_mixes(mix, mixing, row, sources_b[:1], layers), _mixes(mix, mixing, row, sources_b, crossover)]
    return np.concatenate(grid)


def style_mixing_section(src, writer, seed: int) -> Section:
    sec = Section("style_mixing", "Style mixing",
                  f"{SOURCES} sources A (left column) and {SOURCES} sources B (top row); each cell takes the coarse "
                  "styles (the layers up to the resolution named under the grid) from its row's A and the finer ones "
                  "from its column's B. Coarse styles carry pose and shape, fine ones stroke and texture.")
    if sec.lacks_model(src):
        return sec
    mixing = src.style_mixing
    specs, generate = src.direction(mixing.direction)
    images = []
    for crossover, resolution in crossovers(mixing.layer_resolutions):
        grid = mixing_grid(generate, mixing, specs, crossover, seed + 8)
        images.append(writer.grid(f"style_mixing_{resolution}.png", grid, SOURCES + 1,
                                  f"styles up to {resolution}x{resolution} from A (layers 0..{crossover - 1})"))
    sec.items.append(Group(images))
    return sec
