"""Images as uint8 and as PNG grids (dataset inspection, sample snapshots, galleries, metrics)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from kgan.io import atomic_path


def to_uint8(images) -> np.ndarray:
    """[-1, 1] floats -> uint8 by rounding (half to even) in float32, clipping outside values.

    The one quantization kgan uses: snapshots, metrics (generated images are scored as uint8, like real
    ones) and the exported signatures' `images` output (computed the same way in TensorFlow).
    """
    return np.clip(np.rint((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def tile(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """Tile uint8 NHWC images into one HWC image, row-major; empty cells stay black."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3) \
            or not len(images):
        raise ValueError(f"expected a non-empty uint8 NHWC batch with 1 or 3 channels, got "
                         f"{images.dtype} {images.shape}")
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * cols, h, w, c), np.uint8)
    grid[:n] = images
    return grid.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def write_grid_png(images_uint8_nhwc: np.ndarray, path: str | Path, cols: int | None = None,
                   scale: int = 1) -> Path:
    """Write the images as one grid PNG (nearest-neighbour `scale`-fold), atomically."""
    grid = tile(images_uint8_nhwc, cols)
    image = Image.fromarray(grid[..., 0] if grid.shape[-1] == 1 else grid)
    if scale != 1:
        image = image.resize((image.width * scale, image.height * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return Path(path)


def match_shape(images: np.ndarray, shape) -> np.ndarray:
    """uint8 images resized (padded) and converted to (H, W, C) for display beside a model's output: RGB to
    grey by the mean, grey to RGB by repetition; channels beyond C (a mask beside an image) are dropped."""
    h, w, c = shape
    if images.shape[1:] == (h, w, c):
        return images
    import tensorflow as tf

    x = images
    if x.shape[-1] != c:
        if c == 1 and x.shape[-1] == 3:
            x = np.round(x.astype(np.float32).mean(axis=-1, keepdims=True)).astype(np.uint8)
        elif x.shape[-1] > c:
            x = x[..., :c]
        else:
            x = np.repeat(x[..., :1], c, axis=-1)
    if x.shape[1:3] != (h, w):
        x = tf.image.resize_with_pad(x.astype(np.float32), h, w).numpy()
        x = np.clip(np.round(x), 0, 255).astype(np.uint8)
    return x
