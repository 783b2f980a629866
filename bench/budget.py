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


def train_config(cfg, minutes: float, chunk: int):
    """The model of experiment `cfg` trained for `minutes` of process CPU time, each of its phases
    (`train.phases`) for its share of `train.steps`; (model, steps, CPU minutes)."""
    import keras

    from kgan import phases
    from kgan.data.features import feature_dataset
    from kgan.models import build_gan
    from kgan.models.registry import optimizers_for
    from kgan.training import enter_phase

    keras.utils.set_random_seed(cfg.seed)
    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    data = feature_dataset(cfg.data, seed=cfg.seed, split="train")
    steps, used = 0, 0.0
    for phase in phases.plan(cfg):
        enter_phase(model, cfg, phase)
        done, spent, _ = train_for(model, data, minutes * (phase.end - phase.start) / cfg.train.steps, chunk)
        steps, used = steps + done, used + spent
    return model, steps, used
