"""Training for a time budget, shared by the quality benchmarks: models compared "at equal minutes" are
trained by the same loop, in `fit` chunks between clock checks."""

from __future__ import annotations

import time

CLOCKS = {"process": time.process_time, "wall": time.perf_counter}


def train_for(model, dataset, minutes: float, chunk: int, clock: str = "process"):
    """Fit `model` on `dataset` in chunks of `chunk` steps until `minutes` have passed on `clock`.

    `process` counts the CPU time of every thread of this process: a busy machine stretches the run but does
    not change the budget; `wall` is elapsed time. Returns (steps, minutes used, the last chunk's logs).
    """
    last = {}

    def fit_chunk():
        history = model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)
        last.update({k: float(v[-1]) for k, v in history.history.items()})
        return chunk

    steps, used = run_for(fit_chunk, minutes, clock)
    return steps, used, last


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


def fade_for(model, dataset, minutes: float, chunk: int, resolution: int, clock: str = "process"):
    """A growing model's fade phase for `minutes` on `clock`. Its alpha is a function of the step
    (`kgan.models.growing`), so the phase's length in steps must be known when it starts: the first two chunks run
    at alpha ~ 0 (a fade range too long to matter), the second one's time per step predicts how many steps the
    budget allows, and the fade is set to span them (the range is a variable of the step: no new trace). Returns
    (steps, minutes used)."""
    now = CLOCKS[clock]
    begin, start = now(), int(model.steps_done.numpy())
    model.set_resolution(resolution, fade=(start, start + 2**40))
    model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)  # includes the trace
    timed = now()
    model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)
    per_step = max(now() - timed, 1e-6) / chunk
    total = 2 * chunk + max(1, int((minutes * 60 - (now() - begin)) / per_step))
    model.set_resolution(resolution, fade=(start, start + total))
    model.fit(dataset, steps_per_epoch=total - 2 * chunk, epochs=1, verbose=0)
    return total, (now() - begin) / 60


def compiled(cfg):
    """(model, training batches) of experiment `cfg`: seeded, compiled with the config's optimizers."""
    import keras

    from kgan.data.features import feature_dataset
    from kgan.models import build_gan
    from kgan.models.registry import optimizers_for

    keras.utils.set_random_seed(cfg.seed)
    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    return model, feature_dataset(cfg.data, seed=cfg.seed, split="train")


def train_config(cfg, minutes: float, chunk: int, after_phase=None):
    """The model of experiment `cfg` trained for `minutes` of process CPU time, each of its phases
    (`train.phases`) for its share of `train.steps`; (model, steps, CPU minutes). A phase with a resolution (a
    growing model) trains at it on the data downscaled to it, a fade phase through `fade_for`.
    `after_phase(model, phase)` runs at the end of every phase (outside the budget)."""
    from kgan import phases
    from kgan.data.features import feature_dataset
    from kgan.training import enter_phase, grow_to

    model, full = compiled(cfg)
    datasets = {None: full, cfg.data.resolution: full}
    steps, used = 0, 0.0
    for phase in phases.plan(cfg):
        enter_phase(model, cfg, phase)
        if phase.resolution not in datasets:
            datasets[phase.resolution] = feature_dataset(cfg.data, seed=cfg.seed, split="train",
                                                         resolution=phase.resolution)
        data, share = datasets[phase.resolution], minutes * (phase.end - phase.start) / cfg.train.steps
        if phase.fade:
            done, spent = fade_for(model, data, share, chunk, phase.resolution)
        else:
            grow_to(model, phase)
            done, spent, _ = train_for(model, data, share, chunk)
        steps, used = steps + done, used + spent
        if after_phase is not None:
            after_phase(model, phase)
    return model, steps, used
