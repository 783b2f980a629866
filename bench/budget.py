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
