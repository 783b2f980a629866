"""The "identity" reference point of an image-to-image model: its input scored as if it were the output.

A translation model that beats the identity has learned something; one that does not is copying its input
(an inpainting model that only returns the masked image, a super-resolution model no better than upsampling).
The input is brought to the output's shape without any learning: nearest-neighbour resizing, and the image
channels kept (a mask channel dropped) or a single channel repeated.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError


def as_output(inputs: np.ndarray, shape) -> np.ndarray:
    """uint8 NHWC `inputs` as uint8 NHWC images of per-example `shape` (H, W, C)."""
    inputs = np.asarray(inputs)
    if inputs.dtype != np.uint8 or inputs.ndim != 4:
        raise DataError(f"identity inputs must be uint8 NHWC, got {inputs.dtype} {inputs.shape}")
    height, width, channels = (int(d) for d in shape)
    rows = np.arange(height) * inputs.shape[1] // height
    cols = np.arange(width) * inputs.shape[2] // width
    resized = inputs[:, rows][:, :, cols]
    if resized.shape[-1] >= channels:
        return np.ascontiguousarray(resized[..., :channels])
    return np.repeat(resized[..., :1], channels, axis=-1)
