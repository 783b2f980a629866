"""Latent-space utilities: linear and spherical interpolation, truncation, interpolation paths.

`slerp` is the seeds' formula (the one PPL walks along):

    slerp(z1, z2, t) = sin((1 - t) a) / sin(a) * z1 + sin(t a) / sin(a) * z2,
    cos(a) = z1 . z2 / (|z1| |z2|)

It is undefined when sin(a) = 0. Two degenerate cases are handled explicitly:
- parallel vectors (a = 0) or a zero vector: the great circle collapses, so we use `lerp`
  (which is also the limit of the formula as a -> 0);
- antiparallel vectors (a = pi): every great circle through z1 and z2 is equally short, so we pick
  one deterministically (through the unit vector orthogonal to z1 built from the coordinate axis
  least aligned with z1) and walk half of it, the radius moving linearly from |z1| to |z2|.

All functions work on numpy arrays: z of shape [D] or [..., D]; t a scalar or an array whose shape
broadcasts against z's leading dimensions (a [T] vector of t with 1-D z gives [T, D]).
"""

from __future__ import annotations

import numpy as np

#: |sin(a)| below this counts as (anti)parallel.
EPS = 1e-7
METHODS = ("linear", "spherical")


def _prepare(z1, z2, t):
    z1 = np.asarray(z1, np.float64)
    z2 = np.asarray(z2, np.float64)
    if z1.shape[-1:] != z2.shape[-1:]:
        raise ValueError(f"latent vectors differ in size: {z1.shape} vs {z2.shape}")
    t = np.asarray(t, np.float64)[..., None]  # trailing axis broadcasts over the latent dim
    return z1, z2, t


def _out_dtype(*arrays):
    kinds = [np.asarray(a).dtype for a in arrays]
    return np.result_type(*[k for k in kinds if np.issubdtype(k, np.floating)] or [np.float64])


def lerp(z1, z2, t) -> np.ndarray:
    """(1 - t) z1 + t z2."""
    dtype = _out_dtype(z1, z2)
    z1, z2, t = _prepare(z1, z2, t)
    return ((1.0 - t) * z1 + t * z2).astype(dtype)


def slerp(z1, z2, t) -> np.ndarray:
    """Spherical interpolation along the great circle through z1 and z2 (see the module doc)."""
    dtype = _out_dtype(z1, z2)
    z1, z2, t = _prepare(z1, z2, t)
    n1 = np.linalg.norm(z1, axis=-1, keepdims=True)
    n2 = np.linalg.norm(z2, axis=-1, keepdims=True)
    zero = (n1 == 0) | (n2 == 0)
    cos = np.sum(z1 * z2, axis=-1, keepdims=True) / np.where(zero, 1.0, n1 * n2)
    cos = np.clip(cos, -1.0, 1.0)
    alpha = np.arccos(cos)
    sin = np.sin(alpha)
    degenerate = zero | (np.abs(sin) < EPS)
    safe_sin = np.where(degenerate, 1.0, sin)
    out = np.sin((1.0 - t) * alpha) / safe_sin * z1 + np.sin(t * alpha) / safe_sin * z2

    linear = (1.0 - t) * z1 + t * z2
    antiparallel = degenerate & ~zero & (cos < 0)
    parallel = degenerate & ~antiparallel
    out = np.where(parallel, linear, out)
    if np.any(antiparallel):
        u1 = z1 / np.where(n1 == 0, 1.0, n1)
        # A unit vector orthogonal to u1: Gram-Schmidt on the axis where |u1| is smallest.
        axis = np.argmin(np.abs(u1), axis=-1)
        e = np.zeros_like(u1)
        np.put_along_axis(e, axis[..., None], 1.0, axis=-1)
        v = e - np.sum(e * u1, axis=-1, keepdims=True) * u1
        v = v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-300)
        radius = (1.0 - t) * n1 + t * n2
        half_circle = radius * (np.cos(np.pi * t) * u1 + np.sin(np.pi * t) * v)
        out = np.where(antiparallel, half_circle, out)
    return out.astype(dtype)


def truncate(z, psi: float, mean=0.0) -> np.ndarray:
    """The truncation trick in its simplest form: pull z towards `mean` (0 for N(0, I)) by psi.

    psi = 1 leaves z unchanged, psi = 0 maps everything to the mean (the "average" sample).
    """
    z = np.asarray(z)
    dtype = z.dtype if np.issubdtype(z.dtype, np.floating) else np.float64
    mean = np.asarray(mean, np.float64)
    return (mean + float(psi) * (z.astype(np.float64) - mean)).astype(dtype)


def interpolation_path(z1, z2, steps: int, method: str = "spherical") -> np.ndarray:
    """`steps` points from z1 to z2 (both included), t evenly spaced in [0, 1].

    z1, z2 [D] -> [steps, D]; z1, z2 [B, D] -> [B, steps, D].
    method: "linear" (lerp) or "spherical" (slerp); "lerp"/"slerp" are accepted too.
    """
    method = {"lerp": "linear", "slerp": "spherical"}.get(method, method)
    if method not in METHODS:
        raise ValueError(f"unknown interpolation method {method!r}; expected one of {METHODS}")
    if steps < 2:
        raise ValueError(f"an interpolation path needs at least 2 steps, got {steps}")
    z1, z2 = np.asarray(z1), np.asarray(z2)
    t = np.linspace(0.0, 1.0, steps)
    fn = slerp if method == "spherical" else lerp
    if z1.ndim == 1:
        return fn(z1, z2, t)
    # [B, D] -> [B, 1, D] against t [steps] -> [B, steps, D]
    return fn(z1[..., None, :], z2[..., None, :], t)
