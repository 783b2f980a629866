"""Measured attributes of a digit image: stroke thickness, slant and size, and their bins.

The generated captions of a digit data set (`kgan.data.captions`) name these, and the caption-consistency
metrics measure them again on generated images, so both sides use exactly these functions. TensorFlow-free
(numpy and scipy), on uint8 images [N, H, W] or [N, H, W, C] (channels are averaged), light strokes on a dark
background as in MNIST; every measure is in units of a 28-pixel image, so it does not depend on the resolution.

- thickness: the mean stroke width, twice the mean distance from an ink pixel to the background (a bold digit
  has more ink mass per unit of stroke length than a thin one);
- slant: the horizontal shear of the ink's second moments, -mu11 / mu02 (x to the right, y downward): > 0 when
  the digit leans right, < 0 when it leans left, 0 when upright;
- size: the area of the ink's bounding box as a fraction of the image.

Each attribute has three bins (`BINS`), cut at `EDGES`: the tertiles of the bundled MNIST test set at 28 x 28,
fixed constants so that the captions, the metrics and any data set agree on what "thick" means.
"""

from __future__ import annotations

import numpy as np

ATTRIBUTES = ("thickness", "slant", "size")
BINS = {"thickness": ("thin", "medium", "thick"), "slant": ("left", "upright", "right"),
        "size": ("small", "medium", "large")}
#: (lower, upper) cut points of the three bins: the tertiles of the bundled MNIST test set (28 x 28)
EDGES = {"thickness": (2.25, 2.51), "slant": (-0.025, 0.20), "size": (0.33, 0.41)}
INK = 0.5  # an ink pixel: intensity above half of full scale


def _gray(images) -> np.ndarray:
    images = np.asarray(images, np.float32) / 255.0
    return images.mean(axis=-1) if images.ndim == 4 else images


def thickness(images) -> np.ndarray:
    """Mean stroke width per image, in pixels of a 28-pixel image (0 for an empty image)."""
    from scipy import ndimage

    gray = _gray(images)
    scale = 28.0 / gray.shape[1]
    out = np.zeros(len(gray), np.float32)
    for i, image in enumerate(gray):
        ink = image > INK
        if ink.any():
            out[i] = 2.0 * ndimage.distance_transform_edt(ink)[ink].mean() * scale
    return out


def slant(images) -> np.ndarray:
    """Horizontal shear of the ink distribution, -mu11 / mu02 (> 0: leaning right); 0 for an empty image."""
    gray = _gray(images)
    n, h, w = gray.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    mass = gray.reshape(n, -1).sum(axis=1)
    safe = np.maximum(mass, 1e-6)
    mx = (gray * xs).reshape(n, -1).sum(axis=1) / safe
    my = (gray * ys).reshape(n, -1).sum(axis=1) / safe
    dx, dy = xs[None] - mx[:, None, None], ys[None] - my[:, None, None]
    mu11 = (gray * dx * dy).reshape(n, -1).sum(axis=1)
    mu02 = (gray * dy * dy).reshape(n, -1).sum(axis=1)
    return np.where(mu02 > 0, -mu11 / np.maximum(mu02, 1e-6), 0.0).astype(np.float32)


def size(images) -> np.ndarray:
    """Area of the ink's bounding box as a fraction of the image (0 for an empty image)."""
    ink = _gray(images) > INK
    rows, cols = ink.any(axis=2), ink.any(axis=1)
    out = np.zeros(len(ink), np.float32)
    for i in range(len(ink)):
        if rows[i].any():
            r, c = np.flatnonzero(rows[i]), np.flatnonzero(cols[i])
            out[i] = (r[-1] - r[0] + 1) * (c[-1] - c[0] + 1) / (ink.shape[1] * ink.shape[2])
    return out


MEASURES = {"thickness": thickness, "slant": slant, "size": size}


def measure(images) -> dict[str, np.ndarray]:
    """{attribute: value per image} for every attribute."""
    return {name: fn(images) for name, fn in MEASURES.items()}


def bins(values: np.ndarray, attribute: str) -> np.ndarray:
    """Bin index (0, 1, 2) of each value of `attribute` (`BINS[attribute]` names them)."""
    low, high = EDGES[attribute]
    return np.digitize(np.asarray(values), [low, high]).astype(np.int64)


def measured_bins(images) -> dict[str, np.ndarray]:
    """{attribute: bin index per image}."""
    return {name: bins(values, name) for name, values in measure(images).items()}
