"""Loss terms: small named objects the engine sums per optimizer group.

A term is a function of the step context (the real batch, the generator side's outputs, a memo of
network passes shared by the terms of one update) with a weight and an `every` interval. With
`every = N > 1` the term is lazy regularization (StyleGAN2): computed on every N-th step only and scaled
by N, so its average contribution is unchanged while its cost drops N-fold. Phases of a run
(`train.phases`) may change a term's weight, and weight 0 switches it off (the network passes it
needs are then never built).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from keras import ops


@dataclass
class Term:
    name: str  # logged under this name (the weighted value) unless `logged` is False
    group: str  # the optimizer group whose loss it is part of
    fn: Callable  # (StepContext) -> scalar, or (scalar, {diagnostic name: value})
    weight: float = 1.0
    every: int = 1
    logged: bool = True
    diagnostics: tuple = field(default_factory=tuple)  # names of the values fn returns beside the scalar

    def __post_init__(self):
        if self.every < 1:
            raise ValueError(f"term {self.name!r}: every must be >= 1, got {self.every}")
        if self.every > 1 and self.diagnostics:
            raise ValueError(f"term {self.name!r}: a lazy term (every > 1) cannot return diagnostics")

    def evaluate(self, ctx, weight: float):
        """(weighted value, diagnostics) for this step."""
        if self.every == 1:
            value, diagnostics = _split(self.fn(ctx))
            return weight * value, diagnostics
        import tensorflow as tf

        on = tf.equal(tf.math.floormod(ctx.step, self.every), 0)
        value = tf.cond(on, lambda: weight * self.every * _split(self.fn(ctx))[0],
                        lambda: tf.zeros((), "float32"))
        return value, {}


def _split(result):
    if isinstance(result, tuple):
        value, diagnostics = result
        return ops.cast(value, "float32"), diagnostics
    return ops.cast(result, "float32"), {}


class StepContext:
    """What the terms of one update see: `batch` (the real features of this slice), `out` (what the generator
    side produced from it), `step` (steps done so far) and `memo` for passes several terms share."""

    def __init__(self, model, batch: dict, out: dict, step):
        self.model, self.batch, self.out, self.step = model, batch, out, step
        self._memo = {}

    def memo(self, key: str, compute: Callable):
        if key not in self._memo:
            self._memo[key] = compute()
        return self._memo[key]

    def fresh(self) -> "StepContext":
        """The same inputs with an empty memo: passes after an update must see the updated weights."""
        return StepContext(self.model, self.batch, self.out, self.step)
