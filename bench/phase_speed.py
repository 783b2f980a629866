"""CPU seconds per training step in every phase of shipped configs, to estimate how long a full run takes.

For each config (`pipelines/NAME.toml`, with the benchmark's seed), every phase (`train.phases`; one phase without
them) is entered as training enters it (rates, terms, resolution, its fade range), one chunk of `--chunk` steps runs
the trace, and the next `--chunk` steps are timed on the process CPU clock (`budget.timed_fit`). A full run's
training time is then estimated as the sum over phases of steps x seconds per step, plus one trace per phase; the
pipeline's other stages (classifier, evaluation, gallery) are not included. Prints a markdown table and the command.

Usage:  python bench/phase_speed.py [--configs mnist_progan,mnist_stylegan,mnist_stylegan_progressive] [--chunk 20]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from budget import compiled, phase_data, timed_fit  # noqa: E402
from held_out import shipped_config  # noqa: E402
from kgan.cpu import summary_line  # noqa: E402


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--configs", default="mnist_progan,mnist_stylegan,mnist_stylegan_progressive")
    p.add_argument("--chunk", type=int, default=20, help="steps traced, then steps timed, per phase")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def phase_speeds(cfg, chunk: int):
    """[(phase, seconds per step, seconds of the trace chunk beyond its steps)] of every phase of `cfg`."""
    from kgan import phases
    from kgan.training import enter_phase, grow_to

    model, first_batches = compiled(cfg)
    batches, rows = phase_data(cfg, first_batches), []
    for phase in phases.plan(cfg):
        enter_phase(model, cfg, phase)
        grow_to(model, phase)
        first, _ = timed_fit(model, batches(phase), chunk, time.process_time)
        per_step, _ = timed_fit(model, batches(phase), chunk, time.process_time)
        rows.append((phase, per_step, (first - per_step) * chunk))
        print(f"  {cfg.name} {phase.name}: {per_step:.3f} CPU s/step, trace {rows[-1][2]:.1f} s", flush=True)
    return rows


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    print("| config | phase | steps | CPU s/step | trace CPU s | phase CPU min (estimate) |")
    print("|---|---|---:|---:|---:|---:|")
    totals = []
    for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        rows = phase_speeds(shipped_config(name, args.seed), args.chunk)
        for phase, per_step, trace in rows:
            print(f"| {name} | {phase.name} | {phase.end - phase.start} | {per_step:.3f} | {trace:.1f} | "
                  f"{((phase.end - phase.start) * per_step + trace) / 60:.1f} |", flush=True)
        totals.append((name, sum((p.end - p.start) * s + t for p, s, t in rows) / 60))
    for name, minutes in totals:
        print(f"\n{name}: full training about {minutes:.0f} CPU minutes (estimate)")
    print("\ncommand: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
