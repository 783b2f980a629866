"""Training for a time budget, shared by the quality benchmarks: models compared "at equal minutes" are
trained by the same loop, in `fit` chunks between clock checks.

The clock is read between chunks, so a chunk is sized to the time left at the last chunk's speed (at most `chunk`
steps): a run stops within a few steps of its budget rather than a whole chunk past it. A growing model's phases
share one budget by cumulative deadlines (phase i ends when its share of the steps so far has had its share of the
minutes), so the time one phase overruns (its trace) is taken from the next ones, never added to the total."""

from __future__ import annotations

import time

import keras

CLOCKS = {"process": time.process_time, "wall": time.perf_counter}
#: a fade range so long that alpha stays ~0 through the first chunk of a fade (its speed is not known yet)
UNPLANNED = 2**40


def timed_fit(model, dataset, steps: int, now, callbacks=()):
    """Fit `steps` steps; (seconds per step on `now`, the chunk's last logs)."""
    began = now()
    history = model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0, callbacks=list(callbacks))
    return max(now() - began, 1e-9) / steps, {k: float(v[-1]) for k, v in history.history.items()}


def steps_left(deadline: float, now, per_step: float) -> int:
    """How many steps fit before `deadline` at `per_step` seconds each."""
    return int(max(0.0, deadline - now()) / per_step)


def train_until(model, dataset, deadline: float, chunk: int, now, limit: int | None = None, callbacks=()):
    """Fit in chunks until `deadline` on `now`: at least one chunk of `chunk` steps (it may include the trace), then
    chunks of at most `chunk`, each no longer than the time left allows at the last chunk's speed; never more than
    `limit` steps in all. (steps, logs)."""
    limit = 2**62 if limit is None else limit
    done, size, logs = 0, min(chunk, limit), {}
    while size:
        per_step, logs = timed_fit(model, dataset, size, now, callbacks)
        done += size
        size = min(chunk, steps_left(deadline, now, per_step), limit - done)
    return done, logs


def fade_range(step: float, alpha: float, steps: int) -> tuple[float, float]:
    """The (start, end) of a fade range on which `kgan.models.growing.fade_alpha` is `alpha` after `step` steps and
    reaches 1 after `steps` more: re-planning a fade keeps alpha continuous and rising."""
    steps = max(1, steps)
    span = steps / max(1.0 - alpha, 1e-9)
    return step + steps - span, step + steps


def alpha_at(step: float, fade: tuple[float, float]) -> float:
    """`kgan.models.growing.fade_alpha` in Python: where a fade range puts alpha after `step` steps."""
    return min(1.0, max(0.0, (step - fade[0]) / (fade[1] - fade[0])))


def fade_until(model, dataset, deadline: float, chunk: int, resolution: int, now):
    """A growing model's fade phase at `resolution` until `deadline` on `now`. alpha is a function of the step
    (`kgan.models.growing`), so the phase's length in steps must be known ahead: the first chunk (its time includes
    the trace) runs at alpha ~0; before every later chunk the fade range is planned again (`fade_range`) from the
    current step and alpha to reach 1 after the steps the time left allows at the last chunk's speed. The range is a
    variable the step reads, so re-planning does not trace again. At least one planned step: the phase always ends
    with alpha at 1. (steps, logs)."""
    from kgan.training import current_step

    start = current_step(model)
    model.set_resolution(resolution, fade=(start, start + UNPLANNED))
    per_step, logs = timed_fit(model, dataset, chunk, now)
    done = chunk
    while True:
        left = max(1, steps_left(deadline, now, per_step))
        step = current_step(model)
        model.set_resolution(resolution, fade=fade_range(step, alpha_at(step, model.fade_range), left))
        size = min(chunk, left)
        per_step, logs = timed_fit(model, dataset, size, now)
        done += size
        if size == left:
            return done, logs


def train_for(model, dataset, minutes: float, chunk: int, clock: str = "process"):
    """Fit `model` on `dataset` in chunks of at most `chunk` steps until `minutes` have passed on `clock`.

    `process` counts the CPU time of every thread of this process: a busy machine stretches the run but does
    not change the budget; `wall` is elapsed time. Returns (steps, minutes used, the last chunk's logs).
    """
    now = CLOCKS[clock]
    start = now()
    steps, logs = train_until(model, dataset, start + minutes * 60, chunk, now)
    return steps, (now() - start) / 60, logs


class DecayingRates(keras.callbacks.Callback):
    """A decaying phase's rates after every step, as `kgan train`'s loop sets them (`set_learning_rates`)."""

    def __init__(self, cfg, phase):
        super().__init__()
        self.cfg, self.phase = cfg, phase

    def on_train_batch_end(self, batch, logs=None):
        from kgan.training import set_learning_rates

        set_learning_rates(self.model, self.cfg, self.phase)


def phase_callbacks(cfg, phase) -> list:
    """What a phase's chunks run with: a decaying phase's rates set after every step."""
    return [DecayingRates(cfg, phase)] if phase.decay else []


def train_schedule(model, cfg, dataset, minutes: float, chunk: int, clock: str = "process"):
    """Go on training `model` (compiled from experiment `cfg`, e.g. by `compiled`) as `kgan train` would, for
    `minutes` on `clock`: each phase of `train.phases` at its rates (a decaying one's set after every step), up to
    `train.steps` and no further, even with time left. The phase comes from the model's step counter, so a later
    call continues the schedule; a finished model trains no more (0 steps). Fixed-resolution models only (a growing
    one needs its data per resolution: `train_config`). Returns (steps, minutes used)."""
    from kgan import phases
    from kgan.training import current_step, enter_phase

    plan = phases.plan(cfg)
    grows = [p.index for p in plan if p.resolution is not None]
    if grows:
        raise ValueError(f"train.phases[{grows[0]}].resolution: train_schedule trains at one resolution; "
                         "use train_config for a growing model")
    now = CLOCKS[clock]
    start, done = now(), 0
    for phase in plan:
        step = current_step(model)
        if step >= phase.end:
            continue
        if done and now() >= start + minutes * 60:
            break
        enter_phase(model, cfg, phase)
        done += train_until(model, dataset, start + minutes * 60, chunk, now, limit=phase.end - step,
                            callbacks=phase_callbacks(cfg, phase))[0]
    return done, (now() - start) / 60


def run_for(step_chunk, minutes: float, clock: str = "process"):
    """Call `step_chunk()` (a training loop's chunk of steps; returns how many it ran) until `minutes` have passed
    on `clock`: the budget of a loop that is not a Keras `fit` (a hand-written step). Returns (steps, minutes used)."""
    now = CLOCKS[clock]
    start, steps = now(), 0
    while now() - start < minutes * 60:
        steps += step_chunk()
    return steps, (now() - start) / 60


def train_steps(model, dataset, steps: int, chunk: int, clock: str = "process"):
    """Fit `model` on `dataset` for `steps` steps, in chunks of `chunk`: models compared "at equal steps".
    Returns (steps, minutes used on `clock`, the last chunk's logs)."""
    now = CLOCKS[clock]
    start, done, logs = now(), 0, {}
    while done < steps:
        history = model.fit(dataset, steps_per_epoch=min(chunk, steps - done), epochs=1, verbose=0)
        done += min(chunk, steps - done)
        logs = {k: float(v[-1]) for k, v in history.history.items()}
    return done, (now() - start) / 60, logs


def compiled(cfg):
    """(model, training batches) of experiment `cfg`: seeded, compiled with the config's optimizers."""
    import keras

    from kgan import phases
    from kgan.models import build_gan
    from kgan.models.registry import optimizers_for
    from kgan.training import phase_batches

    keras.utils.set_random_seed(cfg.seed)
    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    return model, phase_batches(cfg, phases.plan(cfg)[0])


def phase_data(cfg, first):
    """phase -> its training batches (`kgan.training.phase_batches`), made once per resolution; `first`: the first
    phase's, as `compiled` returns them."""
    from kgan import phases
    from kgan.training import phase_batches

    made = {phases.plan(cfg)[0].resolution: first}

    def batches(phase):
        if phase.resolution not in made:
            made[phase.resolution] = phase_batches(cfg, phase)
        return made[phase.resolution]

    return batches


def train_config(cfg, minutes: float, chunk: int, after_phase=None, clock: str = "process"):
    """The model of experiment `cfg` trained for `minutes` on `clock` (process CPU time by default); (model, steps,
    minutes used). Each phase (`train.phases`) ends at its cumulative deadline: when the steps up to its end would
    have had their share of the minutes. A phase with a resolution (a growing model) trains at it on the data
    downscaled to it, a fade phase through `fade_until`; every phase runs at least one chunk, so a growing model
    always reaches its last resolution. `after_phase(model, phase)` runs at the end of every phase, off the clock."""
    from kgan import phases
    from kgan.training import enter_phase, grow_to

    now = CLOCKS[clock]
    model, first = compiled(cfg)
    batches = phase_data(cfg, first)
    start, steps = now(), 0
    for phase in phases.plan(cfg):
        deadline = start + minutes * 60 * phase.end / cfg.train.steps
        enter_phase(model, cfg, phase)
        data = batches(phase)
        if phase.fade:
            done, _ = fade_until(model, data, deadline, chunk, phase.resolution, now)
        else:
            grow_to(model, phase)
            done, _ = train_until(model, data, deadline, chunk, now, callbacks=phase_callbacks(cfg, phase))
        steps += done
        if after_phase is not None:
            paused = now()
            after_phase(model, phase)
            start += now() - paused
    return model, steps, (now() - start) / 60
