"""Steering (seed 001's "controllable generation"): move the latent along the gradient of a classifier's class
(or an attribute) so the image shows more of it.

    z_{t+1} = z_0 + clip(z_t + step * g_t / |g_t| - z_0, max_distance),   g_t = d score(target, G(z_t)) / dz

`score` is log p(class) of the evaluation classifier or an attribute's score (`kgan.latent_tools.judges`); the
step has a fixed length `step` in the latent space (the gradient's direction only); `clip` scales the offset from
the start back onto the ball of radius `max_distance` around it, so the image stays a neighbour of where it began
(a bound on how far "more seven" may drift from the original sample). Other inputs are held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kgan.errors import UsageError

EPS = 1e-12


@dataclass
class Steering:
    path: np.ndarray  # [N, steps + 1, *latent shape], the start first
    images: np.ndarray  # float [N, steps + 1, H, W, C]
    scores: np.ndarray  # [N, steps + 1] the target's score along the path


def steer(lm, judge, target, start: dict, *, step: float = 0.25, max_distance: float = 3.0,
          steps: int = 10) -> Steering:
    """Steer each start point (`start`: [N, ...] per input) towards `target` (see the module doc): one target for
    every start, or a list of one per start."""
    import tensorflow as tf

    if step <= 0 or max_distance <= 0 or steps < 1:
        raise UsageError(f"steering needs step > 0, max distance > 0 and steps >= 1 (got {step}, {max_distance}, "
                         f"{steps})")
    name = lm.latent.name
    n = len(start[name])
    target = [judge.check(t) for t in ([target] * n if isinstance(target, str) else target)]
    if len(target) != n:
        raise UsageError(f"steering: {len(target)} targets for {n} start points")
    others = lm.tensors(start)
    z0 = tf.constant(np.asarray(start[name], np.float32))
    axes = list(range(1, len(lm.latent.shape) + 1))

    def norm(x):
        return tf.sqrt(tf.reduce_sum(tf.square(x), axis=axes, keepdims=True))

    @tf.function(autograph=False)  # no Python control flow to convert
    def move(z):
        with tf.GradientTape() as tape:
            tape.watch(z)
            score = tf.reduce_sum(judge.scores(target, lm.render({**others, name: z})))
        grad = tape.gradient(score, z)
        z = z + step * grad / (norm(grad) + EPS)
        offset = z - z0
        scale = tf.minimum(1.0, max_distance / (norm(offset) + EPS))
        return z0 + offset * scale

    path = [z0]
    for _ in range(steps):
        path.append(move(path[-1]))
    path = np.stack([np.asarray(z) for z in path], axis=1)
    count = path.shape[1]
    points = {k: np.repeat(np.asarray(v), count, axis=0) for k, v in start.items()}
    points[name] = path.reshape(n * count, *lm.latent.shape)
    images = lm.images(points)
    scores = np.asarray(judge.scores(np.repeat(target, count).tolist(), images)).reshape(n, count)
    return Steering(path, images.reshape(n, count, *images.shape[1:]), scores)
