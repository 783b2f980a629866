"""Projection (GAN inversion): the point of the latent space whose image matches a given image.

For each target image there are K = `starts` x (values of the searched categorical inputs) candidates:
- the latent of each start is one of the model's own draws (seeded: `LatentModel.draw`), mapped into the space
  when the space is not an inference input; `initial` replaces the first start's latent;
- categorical inputs the renderer takes (class labels) are *fixed* to the value given in `fixed`, or else
  *searched*: every combination of their values is tried, each from every start;
- other inputs (uniform codes, further normal inputs) keep their draw.
Every candidate's latent is optimised at once by Adam (`lr` peak; StyleGAN2's projector ramp: linear warm-up over
the first RAMP_UP of the steps, cosine ramp-down over the last RAMP_DOWN) on the sum over candidates of
`Distance` (pixels + features), so each candidate follows its own gradient. The candidate with the smallest final
distance is the projection.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from kgan.errors import DataError, UsageError

RAMP_UP = 0.05
RAMP_DOWN = 0.25
MAX_ROWS = 2048  # candidates optimised at once


def ramp(step, steps: int, peak: float):
    """The learning rate at `step` (0-based, numpy or TensorFlow) of `steps`."""
    from keras import ops

    t = ops.cast(step, "float32")
    up = ops.minimum(1.0, (t + 1.0) / max(1.0, RAMP_UP * steps))
    down = ops.minimum(1.0, (steps - t) / max(1.0, RAMP_DOWN * steps))
    return peak * up * (0.5 - 0.5 * ops.cos(math.pi * down))


@dataclass
class Projection:
    inputs: dict  # the best point per target: the latent and the other inputs, [N, ...] each
    images: np.ndarray  # float32 [N, H, W, C] reconstructions in [-1, 1]
    error: np.ndarray  # [N] the final distance
    pixel_mse: np.ndarray  # [N] mean squared pixel error (in [-1, 1] units)
    candidates: int  # K per target


def check_targets(targets, image_shape, where="targets") -> np.ndarray:
    targets = np.asarray(targets, np.float32)
    if targets.ndim != 4 or tuple(targets.shape[1:]) != tuple(image_shape):
        raise DataError(f"{where}: images shaped {list(targets.shape)}; the model makes "
                        f"[N, {', '.join(map(str, image_shape))}]")
    return targets


def candidates(lm, n: int, starts: int, seed: int, fixed: dict | None = None, initial=None) -> dict:
    """The K candidates of each of `n` targets, target-major: {name: [n * K, ...]} (see the module doc)."""
    fixed = dict(fixed or {})
    by_name = {s.name: s for s in lm.others}
    for name, value in fixed.items():
        spec = by_name.get(name)
        if spec is None or spec.draw != "categorical":
            choices = [s.name for s in lm.others if s.draw == "categorical"]
            raise UsageError(f"fixed input {name!r}: not a categorical input of the model ({choices or 'none'})")
        if not 0 <= int(value) < spec.classes:
            raise UsageError(f"fixed input {name}={value}: expected an integer in [0, {spec.classes})")
    searched = [s for s in lm.others if s.draw == "categorical" and s.name not in fixed]
    combos = list(itertools.product(*[range(s.classes) for s in searched]))
    draws = {k: v.reshape(n, 1, starts, *v.shape[1:]) for k, v in lm.draw(n * starts, seed).items()}
    if initial is not None:
        draws[lm.latent.name][:, 0, 0] = np.asarray(initial, np.float32).reshape(n, *lm.latent.shape)
    out = {k: np.repeat(v, len(combos), axis=1) for k, v in draws.items()}
    for name, value in fixed.items():
        out[name][...] = int(value)
    for i, combo in enumerate(combos):
        for spec, value in zip(searched, combo):
            out[spec.name][:, i] = value
    return {k: v.reshape(-1, *v.shape[3:]) for k, v in out.items()}


def project(lm, targets, distance, *, starts: int = 4, steps: int = 200, lr: float = 0.1, seed: int = 0,
            fixed: dict | None = None, initial=None, max_rows: int = MAX_ROWS) -> Projection:
    """Project float targets [N, H, W, C] in [-1, 1] into `lm`'s latent space (`LatentModel`); `distance`: a
    `Distance`; `fixed`: {categorical input: value} held, the others searched; `initial`: [N, *latent shape]
    latents that replace the first start's. Targets are optimised in groups of at most `max_rows` candidates
    (memory); the candidates are drawn for all of them first, so the grouping does not change the result."""
    if starts < 1 or steps < 0 or lr <= 0:
        raise UsageError(f"projection needs starts >= 1, steps >= 0 and lr > 0 (got {starts}, {steps}, {lr})")
    targets = check_targets(targets, lm.image_shape)
    n = len(targets)
    cand = candidates(lm, n, starts, seed, fixed, initial)
    k = len(cand[lm.latent.name]) // n
    group = max(1, max_rows // k)
    parts = [_optimise(lm, targets[i:i + group], {name: v[i * k:(i + group) * k] for name, v in cand.items()},
                       distance, steps, lr) for i in range(0, n, group)]
    final = np.concatenate([p[1] for p in parts]).reshape(n, k)
    best = np.arange(n) * k + final.argmin(axis=1)
    latents = np.concatenate([p[0] for p in parts])
    points = {**{name: v[best] for name, v in cand.items()}, lm.latent.name: latents[best]}
    images = lm.images(points)
    pixel = np.mean(np.square(images - targets).reshape(n, -1), axis=1)
    return Projection(points, images, final.min(axis=1), pixel, k)


def _optimise(lm, targets, cand: dict, distance, steps: int, lr: float):
    """(optimised latents, final distances) of every candidate, [len(targets) * K] rows."""
    import keras
    import tensorflow as tf
    from keras import ops

    k = len(cand[lm.latent.name]) // len(targets)
    tiled = tf.constant(np.repeat(targets, k, axis=0))
    others = lm.tensors(cand)
    latent = keras.Variable(cand[lm.latent.name], dtype="float32", name="projected_latent")
    optimizer = keras.optimizers.Adam(learning_rate=lambda: ramp(optimizer.iterations, steps, lr))
    optimizer.build([latent])

    def distances():
        return distance(lm.render({**others, lm.latent.name: latent.value}), tiled)

    @tf.function(autograph=False)  # no Python control flow to convert
    def step():
        with tf.GradientTape() as tape:
            loss = ops.sum(distances())
        optimizer.apply([tape.gradient(loss, latent.value)], [latent])

    for _ in range(steps):
        step()
    return np.asarray(latent.value), np.asarray(tf.function(distances, autograph=False)())
