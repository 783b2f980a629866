"""Distributed training throughput: images/second for 1 worker vs N workers (MultiWorkerMirroredStrategy,
loopback TF_CONFIG) on this machine, DCGAN on 28x28x1 random data, the same GLOBAL batch in every case.

Usage:  python bench/distributed_throughput.py [--steps 60] [--warmup 5] [--batch 64] [--width 32] [--workers 2]

Each configuration runs tests/dist_worker.py processes: `fit` for --warmup steps (tracing), then --steps
timed steps; images/second = global batch x steps / the slowest worker's timed seconds. "1 worker" is a plain
process (default strategy); "N workers (MWMS)" splits each global batch over N processes that all-reduce
gradients over gRPC on localhost. On one machine the workers share its cores, so expect no speed-up there:
multi-worker training pays off when each worker has its own machine/GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from kgan.cpu import summary_line  # noqa: E402
from kgan.workers import tf_configs  # noqa: E402

WORKER = REPO / "tests" / "dist_worker.py"


def run(n_workers: int, spec: dict, tmp: Path) -> float:
    spec_path = tmp / f"spec{n_workers}.json"
    spec_path.write_text(json.dumps(spec))
    procs = []
    configs = tf_configs(n_workers) if n_workers > 1 else [None]
    for i, tf_config in enumerate(configs):
        env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        env.setdefault("CUDA_VISIBLE_DEVICES", "")
        if tf_config:
            env["TF_CONFIG"] = tf_config
        out = tmp / f"n{n_workers}_w{i}.npz"
        procs.append((subprocess.Popen([sys.executable, str(WORKER), str(spec_path), str(out)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True), out))
    seconds = []
    for p, out in procs:
        _, err = p.communicate(timeout=1800)
        if p.returncode:
            raise SystemExit(f"worker failed:\n{err[-3000:]}")
        seconds.append(float(np.load(out)["seconds"]))
    return max(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64, help="global batch")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    cfg = {"seed": 0, "model": {"name": "dcgan", "width": args.width, "latent_dim": 64},
           "data": {"resolution": 28, "channels": 1, "batch_size": args.batch}, "train": {"ema": 0.0}}
    spec = {"cfg": cfg, "steps": args.steps, "warmup": args.warmup, "repeat": True}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sorted({1, args.workers}):
            secs = run(n, spec, Path(tmp))
            rows.append((f"{n} worker" + ("s (MWMS, loopback)" if n > 1 else " (default strategy)"),
                         args.batch * args.steps / secs, 1000 * secs / args.steps))
    print(f"command: python {shlex.join(sys.argv)}")
    print(f"{summary_line()}; CPU only; "
          f"DCGAN width {args.width}, 28x28x1, global batch {args.batch}, {args.steps} timed steps")
    print(f"{'configuration':36s} {'images/s':>10s} {'ms/step':>9s} {'speed-up':>9s}")
    for name, ips, ms in rows:
        print(f"{name:36s} {ips:10.1f} {ms:9.1f} {ips / rows[0][1]:8.2f}x")


if __name__ == "__main__":
    main()
