"""The augmentation ops: differentiable functions of the images and of per-example parameters.

Parameters are in units of the image, not of pixels (coordinates u, v in [-1, 1] across and down, at pixel
centres), so one draw transforms every image of a critic input alike at its own resolution: pix2pix's critic
sees (source, image), and a pair must stay a pair. Geometry is one bilinear resampling (zero outside the image)
at output -> input coordinates, so integer translations, flips and quarter turns move pixels exactly and
gradients reach every input pixel that an output pixel was read from.
"""

from __future__ import annotations

import tensorflow as tf


def colour(images, brightness=None, saturation=None, contrast=None):
    """DiffAugment's colour ops, each [B] or None: x + b; (x - channel mean) * s + channel mean (an identity on
    one channel); (x - image mean) * c + image mean."""
    if brightness is not None:
        images = images + brightness[:, None, None, None]
    if saturation is not None:
        mean = tf.reduce_mean(images, axis=3, keepdims=True)
        images = (images - mean) * saturation[:, None, None, None] + mean
    if contrast is not None:
        mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
        images = (images - mean) * contrast[:, None, None, None] + mean
    return images


def geometry(flip=None, quarter_turns=None, translation=None, scale=None, batch=None):
    """[B, 2, 3] output -> input coordinate maps of x-flip (flip in {0, 1}), then `quarter_turns` k (int, 0..3)
    counter-clockwise, then `translation` [B, 2] (u, v), then isotropic `scale` about the centre: the inverse of
    that sequence, so each output pixel reads where the transformed image's content came from."""
    eye = tf.eye(3, batch_shape=[batch])
    maps = eye  # applied to output coordinates, right to left: scale^-1, translation^-1, turns^-1, flip^-1
    if flip is not None:
        sign = 1.0 - 2.0 * tf.cast(flip, "float32")
        maps = maps @ tf.linalg.diag(tf.stack([sign, tf.ones_like(sign), tf.ones_like(sign)], axis=1))
    if quarter_turns is not None:
        k = tf.cast(quarter_turns, "int32") % 4
        cos, sin = tf.gather([1.0, 0.0, -1.0, 0.0], k), tf.gather([0.0, 1.0, 0.0, -1.0], k)
        zero, one = tf.zeros_like(cos), tf.ones_like(cos)
        # Image rows grow downward, so a counter-clockwise turn on screen is clockwise in (u, v); its inverse is
        # the counter-clockwise rotation in (u, v).
        turn_back = tf.stack([tf.stack([cos, -sin, zero], 1), tf.stack([sin, cos, zero], 1),
                              tf.stack([zero, zero, one], 1)], axis=1)
        maps = maps @ turn_back
    if translation is not None:
        zero, one = tf.zeros_like(translation[:, 0]), tf.ones_like(translation[:, 0])
        maps = maps @ tf.stack([tf.stack([one, zero, -translation[:, 0]], 1),
                                tf.stack([zero, one, -translation[:, 1]], 1), tf.stack([zero, zero, one], 1)], axis=1)
    if scale is not None:
        inverse = 1.0 / scale
        maps = maps @ tf.linalg.diag(tf.stack([inverse, inverse, tf.ones_like(inverse)], axis=1))
    return maps[:, :2, :]


def resample(images, maps):
    """`images` [B, H, W, C] read at `maps` [B, 2, 3] @ (u, v, 1) of each output pixel centre: bilinear, zero
    outside the image."""
    shape = tf.shape(images)
    h, w = shape[1], shape[2]
    hf, wf = tf.cast(h, "float32"), tf.cast(w, "float32")
    v = (tf.range(hf) + 0.5) / hf * 2.0 - 1.0
    u = (tf.range(wf) + 0.5) / wf * 2.0 - 1.0
    vv, uu = tf.meshgrid(v, u, indexing="ij")
    grid = tf.stack([uu, vv, tf.ones_like(uu)], axis=-1)  # [H, W, 3]
    source = tf.einsum("bij,hwj->bhwi", maps, grid)  # [B, H, W, 2] input (u, v)
    # Pixel coordinates in the image padded by one zero pixel: anything beyond it reads the zero border.
    x = tf.clip_by_value((source[..., 0] + 1.0) * wf / 2.0 + 0.5, 0.0, wf + 1.0)
    y = tf.clip_by_value((source[..., 1] + 1.0) * hf / 2.0 + 0.5, 0.0, hf + 1.0)
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = (x - x0)[..., None], (y - y0)[..., None]
    x0i, y0i = tf.cast(x0, "int32"), tf.cast(y0, "int32")
    x1i, y1i = tf.minimum(x0i + 1, w + 1), tf.minimum(y0i + 1, h + 1)

    def at(yi, xi):
        return tf.gather_nd(padded, tf.stack([yi, xi], axis=-1), batch_dims=1)

    return ((1.0 - wy) * ((1.0 - wx) * at(y0i, x0i) + wx * at(y0i, x1i))
            + wy * ((1.0 - wx) * at(y1i, x0i) + wx * at(y1i, x1i)))


def cutout(images, centre, half):
    """Zero the square of half-size `half` (image units) about `centre` [B, 2] (u, v) of each image."""
    shape = tf.shape(images)
    hf, wf = tf.cast(shape[1], "float32"), tf.cast(shape[2], "float32")
    v = (tf.range(hf) + 0.5) / hf * 2.0 - 1.0
    u = (tf.range(wf) + 0.5) / wf * 2.0 - 1.0
    inside_u = tf.abs(u[None, :] - centre[:, :1]) < half  # [B, W]
    inside_v = tf.abs(v[None, :] - centre[:, 1:]) < half  # [B, H]
    hole = tf.logical_and(inside_v[:, :, None], inside_u[:, None, :])
    return images * tf.cast(tf.logical_not(hole), images.dtype)[..., None]
