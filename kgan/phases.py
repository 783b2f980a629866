"""Training phases: consecutive step ranges with their own learning rates, loss-term weights and resolution.

A phase with `fade = true` (growing models: `resolution` is new, the block that makes it fades in as alpha goes
from 0 to 1 over the phase, `Phase.alpha`) is followed by a stabilizing phase at the same resolution.

A phase with `decay = "linear"` lowers its rates linearly to 0 at its end (CycleGAN's schedule is a constant phase
then a decaying one of the same length): the update after `step` steps runs at rate * (end - step) / steps.

`train.phases` is a list of tables (validated in `kgan.config`); without it a run is one phase of
`train.steps`. A phase is a pure function of the step counter, so a resumed run finds its phase (and the
position inside it) from the checkpointed step alone. TensorFlow-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kgan.errors import ConfigError


@dataclass(frozen=True)
class Phase:
    index: int
    name: str
    start: int  # first step (steps done when the phase begins)
    end: int  # steps done when it ends
    g_lr: float | None = None
    d_lr: float | None = None
    lr: dict = field(default_factory=dict)  # group -> rate
    terms: dict = field(default_factory=dict)  # term -> weight (0 = off)
    resolution: int | None = None
    decay: str = ""  # "" = constant rates, "linear" = down to 0 at the phase's end
    fade: bool = False  # a growing model fades its newest block in over the phase (alpha 0 -> 1)

    def alpha(self, step: int) -> float:
        """The fade-in weight of the newest block for the step after `step` steps: (step - start) / steps in a fade
        phase (0 at its first step), else 1. `kgan.models.growing` computes the same inside the training step."""
        if not self.fade:
            return 1.0
        return min(1.0, max(0.0, (step - self.start) / (self.end - self.start)))

    def decay_factor(self, step: int) -> float:
        """What the rates are multiplied by for the update after `step` steps (1 without decay)."""
        if self.decay != "linear":
            return 1.0
        return min(1.0, max(0.0, (self.end - step) / (self.end - self.start)))

    def learning_rates(self, base: dict, step: int | None = None) -> dict:
        """Per-group rates: `base` (the train section's), then g_lr for the last group (the generator side) and
        d_lr for the others, then `lr` by group name; at `step`, scaled by the phase's decay."""
        groups = list(base)
        unknown = sorted(set(self.lr) - set(groups))
        if unknown:
            raise ConfigError(f"train.phases[{self.index}].lr.{unknown[0]}: no such optimizer group; the model's "
                              f"groups are {groups}")
        rates = dict(base)
        for i, group in enumerate(groups):
            override = self.g_lr if i == len(groups) - 1 else self.d_lr
            if override is not None:
                rates[group] = override
        factor = 1.0 if step is None else self.decay_factor(step)
        return {group: rate * factor for group, rate in {**rates, **self.lr}.items()}


def plan(cfg) -> list[Phase]:
    if not cfg.train.phases:
        return [Phase(0, "train", 0, cfg.train.steps)]
    phases, start = [], 0
    for i, p in enumerate(cfg.train.phases):
        phases.append(Phase(i, p.get("name", f"phase{i + 1}"), start, start + p["steps"], p.get("g_lr"),
                            p.get("d_lr"), dict(p.get("lr", {})), dict(p.get("terms", {})), p.get("resolution"), p.get("decay", ""),
                            bool(p.get("fade", False))))
        start += p["steps"]
    return phases


def phase_at(phases: list[Phase], step: int) -> Phase:
    """The phase that step number `step` (steps done so far) belongs to; the last one once training is over."""
    return next((p for p in phases if step < p.end), phases[-1])
