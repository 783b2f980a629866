"""Input | output | target rows of a model fed from data: one layout for training snapshots and the gallery.

Such a model is judged by what it made (output) from what (its image inputs), beside what it should have
made (its target feature). Every image is shown in the output's shape (`imageio.match_shape`), so the rows
tile into one grid. This module imports no TensorFlow at load time.
"""

from __future__ import annotations

import numpy as np

from kgan.imageio import match_shape, to_uint8

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


def flat(grid: np.ndarray) -> np.ndarray:
    """[n, k, H, W, C] -> [n * k, H, W, C], row-major: a grid of k columns shows one example per row."""
    return grid.reshape((-1,) + grid.shape[2:])
