"""Run a multi-worker training job: N `kgan train` processes, each with its TF_CONFIG, waited on together.

Locally (a loopback cluster on free ports: `kgan launch`, and the pipeline's `TrainGAN` for a config with
`train.strategy = "multi_worker"`), or through a command template for a cluster's launcher (`train.launcher`,
run by the shell): `{command}` is the worker's `kgan train` command line, `{index}` its index, `{workers}` the
count and `{tf_config}` a loopback TF_CONFIG (also in its environment), right for workers on this machine; a
template that places workers on other hosts sets their TF_CONFIG itself, e.g.
`ssh node{index} "cd /shared && TF_CONFIG=$(cluster-tf-config {index}) {command}"`.
One failed worker ends the job (the others would block in a collective); rerunning resumes from the last checkpoint.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time


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


def train_command(config: str, out: str, extra: list[str] = ()) -> list[str]:
    """The `kgan train` command line every worker runs."""
    return [sys.executable, "-m", "kgan", "train", config, "--out", out, "--set", "train.strategy=multi_worker",
            *extra]


def _start(command: list[str], index: int, tf_config: str, workers: int, template: str, log):
    env = {**os.environ, "TF_CONFIG": tf_config}
    if not template:
        log(f"worker {index}: TF_CONFIG='{tf_config}' {' '.join(command)}")
        return subprocess.Popen(command, env=env)
    line = template.format(command=shlex.join(command), index=index, tf_config=tf_config, workers=workers)
    log(f"worker {index}: {line}")
    return subprocess.Popen(line, shell=True, env=env)


def run_workers(command: list[str], workers: int, *, template: str = "", timeout: float = 0,
                log=lambda message: print(f"[launch] {message}", file=sys.stderr, flush=True)) -> list[int]:
    """Start the workers, wait for all; stop the rest when one fails or the timeout passes. Their exit codes
    (None where a worker had to be stopped)."""
    procs = [_start(command, i, tf_config, workers, template, log) for i, tf_config in enumerate(tf_configs(workers))]
    deadline = time.time() + timeout if timeout else None
    stopped = set()
    try:
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs) or (deadline and time.time() > deadline):
                break
            time.sleep(0.5)
    finally:
        for i, p in enumerate(procs):
            if p.poll() is None:
                stopped.add(i)
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    codes = [None if i in stopped else p.returncode for i, p in enumerate(procs)]
    log(f"exit codes: {codes}")
    return codes


def failed(codes: list) -> str:
    """'' when every worker finished, else which did not (for the error that fails the job)."""
    bad = [f"worker {i} {'was stopped' if c is None else f'exited with {c}'}" for i, c in enumerate(codes) if c != 0]
    return ", ".join(bad)
