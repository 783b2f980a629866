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
    now = CLOCKS[clock]
    start, steps, logs = now(), 0, {}
    while now() - start < minutes * 60:
        history = model.fit(dataset, steps_per_epoch=chunk, epochs=1, verbose=0)
        steps += chunk
        logs = {k: float(v[-1]) for k, v in history.history.items()}
    return steps, (now() - start) / 60, logs


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

    from kgan.data.features import feature_dataset
    from kgan.models import build_gan
    from kgan.models.registry import optimizers_for

    keras.utils.set_random_seed(cfg.seed)
    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    return model, feature_dataset(cfg.data, seed=cfg.seed, split="train")


def train_config(cfg, minutes: float, chunk: int):
    """The model of experiment `cfg` trained for `minutes` of process CPU time, each of its phases
    (`train.phases`) for its share of `train.steps`; (model, steps, CPU minutes)."""
    from kgan import phases
    from kgan.training import enter_phase

    model, data = compiled(cfg)
    steps, used = 0, 0.0
    for phase in phases.plan(cfg):
        enter_phase(model, cfg, phase)
        done, spent, _ = train_for(model, data, minutes * (phase.end - phase.start) / cfg.train.steps, chunk)
        steps, used = steps + done, used + spent
    return model, steps, used
