"""A training-collapse detector: the critic wins outright and the generator stops moving.

A learning rate of 1.0 (or a broken model) can leave every loss finite while nothing is learned: the
critic's loss sits at ~0 and the generator's loss is the same number log after log. The divergence
guard never fires on that, so this watches the logged losses and says so once per episode.
"""

from __future__ import annotations

from collections import deque

from kgan.events import COLLAPSE


class CollapseDetector:
    """Feed one (critic loss, generator loss) pair per log row; `update` returns a message when a collapse
    starts (`window` rows with the critic loss below `critic_floor` and the generator loss within a relative `flat` band)."""

    def __init__(self, window: int = 10, critic_floor: float = 1e-3, flat: float = 1e-2):
        self.rows = deque(maxlen=window)
        self.critic_floor, self.flat = critic_floor, flat
        self.active = False

    def update(self, critic_loss: float, generator_loss: float) -> str | None:
        self.rows.append((critic_loss, generator_loss))
        full = len(self.rows) == self.rows.maxlen
        g = [r[1] for r in self.rows]
        collapsed = full and all(abs(r[0]) < self.critic_floor for r in self.rows) and \
            max(g) - min(g) <= self.flat * max(1.0, abs(g[-1]))
        started = collapsed and not self.active
        self.active = collapsed
        if not started:
            return None
        return (f"{COLLAPSE}: the critic's loss has been below {self.critic_floor:g} and the generator's "
                f"loss flat at {g[-1]:.4g} for {len(self.rows)} log rows; samples are likely not improving "
                "(lower train.g_lr / train.d_lr, or check the model)")
