"""`kgan launch --workers N CONFIG --out RUN_DIR [train options]`: N local workers with a loopback TF_CONFIG.

For trying multi-worker training (MultiWorkerMirroredStrategy) on one machine; on N machines run
`kgan train CONFIG --out RUN_DIR` on each with its own TF_CONFIG instead (docs/distributed.md).
"""

from __future__ import annotations

import sys

from kgan.argtypes import non_negative_float, positive_int
from kgan.workers import failed, run_workers, train_command


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "launch", help="run a multi-worker training job as N local processes (loopback TF_CONFIG)",
        description="Start N `kgan train` worker processes on this machine with a TF_CONFIG cluster on "
                    "localhost ports, wait for all of them and fail if any fails. Worker 0 is the chief: it "
                    "alone writes to --out. Rerun the same command to resume a killed job from its last "
                    "checkpoint. See docs/distributed.md for several machines.")
    p.add_argument("config", help="experiment TOML file")
    p.add_argument("--workers", type=positive_int, default=2, help="number of worker processes")
    p.add_argument("--out", required=True, help="run directory (shared by all workers)")
    p.add_argument("--steps", type=positive_int, help="override train.steps")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="fail instead of resuming when the run directory holds checkpoints")
    p.add_argument("--timeout", type=non_negative_float, default=0, help="kill the job after this many seconds (0 = never)")
    p.set_defaults(func=run)


def run(args) -> int:
    extra = (["--steps", str(args.steps)] if args.steps is not None else []) + [
        x for pair in args.set for x in ("--set", pair)] + ([] if args.resume else ["--no-resume"])
    codes = run_workers(train_command(args.config, args.out, extra), args.workers, timeout=args.timeout)
    if failed(codes):
        print("[launch] the job failed; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 1
    return 0
