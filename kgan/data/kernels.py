"""Blur kernels for the degradation transforms (`kgan.data.transforms`), drawn inside tf.data.

Every kernel is a convolution kernel (point spread function) of odd side L that sums to one. Random
kernels come from stateless random ops of one seed, so a seed always gives the same kernels. Lines and
camera-shake paths are rasterized by splatting densely sampled points bilinearly onto the pixel grid
(antialiasing: a point between pixels spreads over its four neighbours), which keeps each point's mass
and centre exactly.
"""

from __future__ import annotations

import math

import tensorflow as tf

#: DeblurGAN's (Boracchi & Foi's) walk: 2000 steps, 60 px long; its "exposure" scales draw from these.
_WALK_STEPS, _WALK_LENGTH = 2000, 60.0
_EXPLOSIONS = (0.003, 0.001, 0.0007, 0.0005, 0.0003, 0.0001)


def _salted(seed, salt: int):
    return tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), salt)


def random_lengths(seed, batch: int, size: int):
    """Path lengths uniform in [L/4, L-1] px: visible blur that still fits the L x L kernel."""
    return tf.random.stateless_uniform([batch], _salted(seed, 1), minval=size / 4, maxval=size - 1.0)


def splat(points, size: int):
    """Kernels [B, L, L] from points [B, N, 2] (row, col) relative to the kernel centre, each point spread
    bilinearly over its neighbouring pixels, normalized to sum one."""
    grid = tf.range(size, dtype=tf.float32) - (size - 1) / 2.0
    rows = tf.nn.relu(1.0 - tf.abs(points[..., 0:1] - grid))  # [B, N, L]
    cols = tf.nn.relu(1.0 - tf.abs(points[..., 1:2] - grid))
    kernels = tf.einsum("bni,bnj->bij", rows, cols)
    return kernels / tf.reduce_sum(kernels, axis=[1, 2], keepdims=True)


def line_kernels(lengths, angles, size: int):
    """Straight-line kernels [B, L, L]: segments of `lengths` px centred on the kernel, at `angles` radians
    (0 = along the columns, counter-clockwise with rows pointing down as in images)."""
    count = 4 * size + 1  # four samples a pixel: the splatted line has no gaps
    t = tf.linspace(-0.5, 0.5, count)[None, :] * lengths[:, None]  # [B, N]
    points = tf.stack([-t * tf.sin(angles)[:, None], t * tf.cos(angles)[:, None]], axis=-1)
    return splat(points, size)


def motion_kernels(seed, batch: int, size: int):
    """Random linear motion: a line of length U[L/4, L-1] px at an angle U[0, pi)."""
    angles = tf.random.stateless_uniform([batch], _salted(seed, 2), maxval=math.pi)
    return line_kernels(random_lengths(seed, batch, size), angles, size)


def trajectory_kernels(seed, batch: int, size: int):
    """Random camera-shake paths (Boracchi & Foi 2012, DeblurGAN's generator): a walk of constant speed whose
    velocity keeps its direction (inertia) up to Gaussian shake, is pulled back towards the start
    (centripetal) and now and then reverses (impulsive jumps). DeblurGAN walks 2000 steps of a 60 px path; we
    walk `max(64, 4 L)` steps (dense enough to splat), each standing for `2000 / steps` of theirs, then rescale
    the path to its drawn length and centre its bounding box."""
    steps = max(64, 4 * size)
    unit = _WALK_LENGTH / (steps - 1)
    u = tf.random.stateless_uniform([5, batch], _salted(seed, 3))
    centripetal, big_shake, shake = 0.7 * u[0], 0.2 * u[1], 10.0 * u[2]
    explosion = tf.gather(tf.constant(_EXPLOSIONS), tf.cast(u[4] * len(_EXPLOSIONS), tf.int32))
    ratio = _WALK_STEPS / (steps - 1)  # fewer, longer steps: drift and jump odds grow by it, shake by its root
    drift, diffusion = explosion * ratio, explosion * math.sqrt(ratio)
    jumps = tf.random.stateless_uniform([steps - 1, 2, batch], _salted(seed, 4))
    kicks = tf.random.stateless_normal([steps - 1, 2, batch], _salted(seed, 5))

    def step(state, draws):
        x, v = state
        jump_u, kick = draws
        turn = tf.exp(tf.complex(tf.zeros_like(jump_u[1]), math.pi + jump_u[1] - 0.5))
        jump = tf.where(jump_u[0] < big_shake * drift, 2.0 * v * turn, tf.zeros_like(v))
        kick = tf.complex(diffusion * shake * kick[0], diffusion * shake * kick[1])
        v = v + jump + _real(unit) * (kick - _real(drift * centripetal) * x)
        v = v * _real(unit / tf.maximum(tf.abs(v), 1e-12))  # constant speed
        return x + v, v

    start = tf.exp(tf.complex(tf.zeros([batch]), 2.0 * math.pi * u[3])) * unit
    walk, _ = tf.scan(step, (jumps, kicks), initializer=(tf.zeros([batch], tf.complex64), start))
    path = tf.concat([tf.zeros([1, batch], tf.complex64), walk], axis=0)  # [T, B]
    scale = random_lengths(seed, batch, size) / _WALK_LENGTH
    re, im = tf.math.real(path) * scale, tf.math.imag(path) * scale
    re -= (tf.reduce_max(re, 0) + tf.reduce_min(re, 0)) / 2
    im -= (tf.reduce_max(im, 0) + tf.reduce_min(im, 0)) / 2
    return splat(tf.transpose(tf.stack([im, re]), [2, 1, 0]), size)


def _real(x):
    return tf.complex(x, tf.zeros_like(x))


def gaussian_taps(sigma: float, taps: int):
    """A 1-D Gaussian of `taps` samples centred between the middle taps when `taps` is even, summing to one."""
    x = tf.range(taps, dtype=tf.float32) - (taps - 1) / 2.0
    kernel = tf.exp(-0.5 * tf.square(x / sigma))
    return kernel / tf.reduce_sum(kernel)


def convolve(images, kernels):
    """Each image [B, H, W, C] convolved with its own kernel [B, L, L], reflection-padded, same size. By FFT:
    a per-example depthwise convolution costs L^2 per pixel (31 x 31 kernels at 128 px ran at 200 img/s on
    two CPU cores), the FFT a few log-factors."""
    size = kernels.shape[-1]
    r = size // 2
    height, width = images.shape[1], images.shape[2]
    padded = tf.pad(images, [[0, 0], [r, r], [r, r], [0, 0]], mode="REFLECT")
    planes = tf.transpose(padded, [0, 3, 1, 2])  # [B, C, H + 2r, W + 2r]
    shape = [_fast_length(height + 2 * r), _fast_length(width + 2 * r)]
    filters = tf.pad(kernels, [[0, 0], [0, shape[0] - size], [0, shape[1] - size]])[:, None]
    product = tf.signal.rfft2d(planes, fft_length=shape) * tf.signal.rfft2d(filters)
    full = tf.signal.irfft2d(product, fft_length=shape)  # circular, but the wrap-around lands in the border
    return tf.transpose(full[:, :, 2 * r:2 * r + height, 2 * r:2 * r + width], [0, 2, 3, 1])


def _fast_length(n: int) -> int:
    """The smallest length >= n with no prime factor above 5 (an FFT of 158 = 2 x 79 points is 5x slower)."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1
