"""Morphing: images along a straight (lerp) or great-circle (slerp, `kgan.latent`) path between two points.

Seed 002's "morph images": project both images, then interpolate between the two latents. The latent is
interpolated; the other inputs (a class label) are the first point's for t < 0.5 and the second's from t = 0.5.
"""

from __future__ import annotations

import numpy as np

from kgan.latent import interpolation_path


def morph(lm, a: dict, b: dict, steps: int = 10, method: str = "spherical") -> tuple[dict, np.ndarray]:
    """(points [steps, ...], float images [steps, H, W, C]) from point `a` to point `b` (one row each), both
    included."""
    name, shape = lm.latent.name, lm.latent.shape
    za, zb = np.asarray(a[name]).reshape(-1), np.asarray(b[name]).reshape(-1)
    path = interpolation_path(za, zb, steps, method).reshape(steps, *shape).astype(np.float32)
    second = np.linspace(0.0, 1.0, steps) >= 0.5
    points = {s.name: np.where(second.reshape(-1, *[1] * len(s.shape)), np.asarray(b[s.name])[:1],
                               np.asarray(a[s.name])[:1]) for s in lm.others}
    points[name] = path
    return points, lm.images(points)
