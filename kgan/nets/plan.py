"""Which resolutions the convolutional nets can make, without TensorFlow (config validation uses it)."""

from __future__ import annotations


def upsampling_plan(resolution: int) -> tuple[int, int]:
    """(start size, number of 2x upsamplings) such that start * 2**n == resolution, 4 <= start <= 7."""
    start, n = resolution, 0
    while start % 2 == 0 and start // 2 >= 4:
        start, n = start // 2, n + 1
    if not 4 <= start <= 7 or n == 0:
        raise ValueError(f"resolution {resolution} must be a power-of-two multiple of 4..7 (28, 32, 64, ...)")
    return start, n


def dcgan_resolutions(limit: int = 1024) -> list[int]:
    """Every resolution up to `limit` the DCGAN nets support (8, 10, 12, 14, 16, 20, ..., 28, 32, ...)."""
    out = []
    for r in range(4, limit + 1):
        try:
            upsampling_plan(r)
        except ValueError:
            continue
        out.append(r)
    return out
