"""`kgan launch --workers N CONFIG --out RUN_DIR [train options]`: N local workers with a loopback TF_CONFIG.

For trying multi-worker training (MultiWorkerMirroredStrategy) on one machine; on N machines run
`kgan train CONFIG --out RUN_DIR` on each with its own TF_CONFIG instead (docs/distributed.md).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

from kgan.argtypes import non_negative_float, positive_int


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


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on localhost (bound to port 0, then released)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tf_configs(n: int, ports: list[int] | None = None) -> list[str]:
    """One TF_CONFIG JSON per worker for an n-worker cluster on localhost."""
    ports = ports or free_ports(n)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    return [json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}) for i in range(n)]


def worker_command(args) -> list[str]:
    cmd = [sys.executable, "-m", "kgan", "train", args.config, "--out", args.out, "--set", "train.strategy=multi_worker"]
    if args.steps is not None:
        cmd += ["--steps", str(args.steps)]
    for pair in args.set:
        cmd += ["--set", pair]
    if not args.resume:
        cmd.append("--no-resume")
    return cmd


def run(args) -> int:
    cmd = worker_command(args)
    procs = []
    for i, tf_config in enumerate(tf_configs(args.workers)):
        env = {**os.environ, "TF_CONFIG": tf_config}
        print(f"[launch] worker {i}: TF_CONFIG='{tf_config}' {' '.join(cmd)}", file=sys.stderr, flush=True)
        procs.append(subprocess.Popen(cmd, env=env))
    deadline = time.time() + args.timeout if args.timeout else None
    failed = False
    try:
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs):
                failed = True  # one worker died: the others would block in a collective; stop the job
                break
            if deadline and time.time() > deadline:
                failed = True
                break
            time.sleep(0.5)
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
    codes = [p.returncode for p in procs]
    print(f"[launch] exit codes: {codes}", file=sys.stderr)
    if failed or any(codes):
        print("[launch] the job failed; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 1
    return 0
