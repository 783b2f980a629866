"""Input | output | target rows of a model fed from data: one layout for training snapshots and the gallery.

Such a model is judged by what it made (output) from what (its image inputs), beside what it should have
made (its target feature). A model whose served directions declare inverses (CycleGAN) has no target: its rows
are input | translated | translated back, for every such direction (a -> b -> a rows and b -> a -> b rows,
interleaved); an autoencoder's (`encode`, whose output is a code) are input | reconstructed. Every image is shown in the output's shape (`imageio.match_shape`), so the rows tile into one
grid. This module imports no TensorFlow at load time.
"""

from __future__ import annotations

import numpy as np

from kgan.imageio import match_shape, to_uint8
from kgan.models import surface

#: triptychs side by side in one row of a snapshot grid (TensorBoard) and of the gallery's progression
PER_ROW = 4


def display(images, shape) -> np.ndarray:
    """uint8 images in `shape` (H, W, C) from uint8 or [-1, 1] float images."""
    images = np.asarray(images)
    return match_shape(images if images.dtype == np.uint8 else to_uint8(images), shape)


def image_inputs(specs, inputs: dict, shape, n: int) -> tuple[list, list[str]]:
    """(uint8 batches of n rows in `shape`, their names): the model's image inputs, as shown beside outputs."""
    images = [s for s in specs if s.draw == "image"]
    return [display(np.asarray(inputs[s.name])[:n], shape) for s in images], [s.name for s in images]


def compose(specs, inputs: dict, outputs: np.ndarray, targets: dict) -> tuple[np.ndarray, list[str]]:
    """(uint8 [n, k, H, W, C], the k column titles): each example's image inputs, its output and the rows of
    `targets` ({feature: rows}, empty when the data has no target), n = the outputs' rows."""
    shape, n = outputs.shape[1:], len(outputs)
    columns, titles = image_inputs(specs, inputs, shape, n)
    columns += [outputs] + [display(np.asarray(rows)[:n], shape) for rows in targets.values()]
    return np.stack(columns, axis=1), [*titles, "output", *targets]


def cycling(directions) -> list:
    """The directions whose rows show a round trip: those that take images and declare an inverse."""
    return [d for d in directions if d.inverse and all(s.draw == "image" for s in d.inputs)]


def has_cycles(directions) -> bool:
    return bool(cycling(directions))


def cycles(directions, inputs: dict) -> tuple[np.ndarray, list[str]]:
    """(uint8 [n * k, c, H, W, C], titles): input | translated | translated back rows of each of the k directions
    in `cycling`, for the fixed examples `inputs` (every direction's inputs, n rows each), the directions' rows
    interleaved. A direction that outputs codes (an autoencoder's `encode`) has no middle column: its rows are
    input | reconstructed (decoded from its code)."""
    by_name = {d.name: d for d in directions}
    grids = []
    for direction in cycling(directions):
        back = by_name[direction.inverse]
        given = {s.name: np.asarray(inputs[s.name], np.float32) for s in direction.inputs}
        out = np.asarray(surface.call_network(direction.network, given), np.float32)
        again = np.asarray(surface.call_network(back.network, {back.inputs[0].name: out}), np.float32)
        shown = [out] if direction.output == "image" else []
        shape = (shown or [again])[0].shape[1:]
        grids.append(np.stack([display(given[direction.inputs[0].name], shape),
                               *(display(o, shape) for o in shown), display(again, shape)], axis=1))
    titles = ["input", "translated", "translated back"] if grids[0].shape[1] == 3 else ["input", "reconstructed"]
    # interleaved (a0, b0, a1, b1, ...), so any first rows show every direction
    return np.stack(grids, axis=1).reshape((-1,) + grids[0].shape[1:]), titles


def flat(grid: np.ndarray) -> np.ndarray:
    """[n, k, H, W, C] -> [n * k, H, W, C], row-major: a grid of k columns shows one example per row."""
    return grid.reshape((-1,) + grid.shape[2:])
