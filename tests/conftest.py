"""Shared test setup: quiet TensorFlow, CPU only, tiny data written per test session."""

import contextlib
import gzip
import io
import logging
import os
import struct
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    """Write an IDX file (uint8 payload) the way MNIST ships them."""
    dims = array.shape
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + b"".join(struct.pack(">I", d) for d in dims)
    payload = header + array.astype(np.uint8).tobytes()
    (gzip.open if gz else open)(path, "wb").write(payload)
    return path


def assert_same_named_batches(data, prepared, batches: int = 3, split: str = "train") -> None:
    """`prepared` (a prepared set's data section) yields the very named batches `data` (its source's) does: same
    keys, dtypes, shapes and bytes, in the same seeded order."""
    from kgan.data.features import feature_dataset

    want = list(feature_dataset(data, seed=3, split=split).take(batches).as_numpy_iterator())
    got = list(feature_dataset(prepared, seed=3, split=split).take(batches).as_numpy_iterator())
    assert len(got) == len(want) == batches
    for a, b in zip(want, got):
        assert set(a) == set(b)
        for key in a:
            assert (a[key].dtype, a[key].shape) == (b[key].dtype, b[key].shape), key
            if a[key].dtype == object:  # strings (captions)
                assert a[key].tolist() == b[key].tolist(), key
            else:
                assert a[key].tobytes() == b[key].tobytes(), key


@pytest.fixture(scope="session")
def tiny_digits(tmp_path_factory) -> dict:
    """256 real MNIST digits (from the vendored test set) as arrays, an npz and an idx pair."""
    from kgan.data import load_arrays

    images, labels = load_arrays("mnist", limit=256)
    root = tmp_path_factory.mktemp("tiny")
    np.savez(root / "digits.npz", x=images[..., 0], y=labels)
    write_idx(root / "images-idx3-ubyte", images[..., 0])
    write_idx(root / "labels-idx1-ubyte", labels.astype(np.uint8))
    return {"images": images, "labels": labels, "root": root, "npz": root / "digits.npz"}


def run_cli(*args: str, cwd: Path = REPO, timeout: float = 600, env: dict | None = None):
    """Run `python -m kgan ARGS` in a subprocess; returns CompletedProcess with text output.

    For tests where the process is the point (exit status and stderr as a shell sees them, kills, start-up);
    everything else uses `cli`, since each process pays the TensorFlow start-up."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kgan", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def cli(*args, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `kgan ARGS` in this process through `kgan.cli.main`; returns what `run_cli` returns.

    The command's stdout and stderr (what Python writes to sys.stdout/sys.stderr) are captured as text. What a
    command may change for the rest of the test session is put back: the working directory, environment
    variables, the Keras dtype policy and the levels of Luigi's loggers (which `kgan pipeline` turns down).
    An exception that is not a user error propagates with its traceback, where a subprocess would exit 1.
    """
    from kgan.cli import main

    argv = [str(a) for a in args]
    streams = [io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True) for _ in range(2)]  # .buffer too
    cwd_before, env_before = os.getcwd(), dict(os.environ)
    policy_before = sys.modules["keras"].mixed_precision.global_policy() if "keras" in sys.modules else "float32"
    loggers = [logging.getLogger(name) for name in ("luigi", "luigi-interface")]
    loggers_before = [(lg.level, lg.propagate) for lg in loggers]
    try:
        if cwd is not None:
            os.chdir(cwd)
        os.environ.update(env or {})
        with contextlib.redirect_stdout(streams[0]), contextlib.redirect_stderr(streams[1]):
            rc = main(argv)
    finally:
        os.chdir(cwd_before)
        os.environ.clear()
        os.environ.update(env_before)
        if "keras" in sys.modules:  # not imported by commands that never load TensorFlow
            sys.modules["keras"].mixed_precision.set_global_policy(policy_before)
        for lg, (level, propagate) in zip(loggers, loggers_before):
            lg.setLevel(level)
            lg.propagate = propagate
    out, err = (stream.buffer.getvalue().decode() for stream in streams)
    return subprocess.CompletedProcess(["kgan", *argv], rc, out, err)


@pytest.fixture(scope="session")
def p2p_run(tmp_path_factory) -> dict:
    """A tiny pix2pix run (inpainting, a quarter of the data held out) trained to step 2 and resumed to step 4;
    `before`: (inode, bytes) of its fixed-example files after the first session."""
    import kgan.config
    import kgan.training

    cfg = kgan.config.from_dict({
        "name": "p2p-tiny", "seed": 0, "model": {"name": "pix2pix", "width": 8},
        "data": {"source": "mnist", "limit": 64, "batch_size": 8, "transform": "mask", "holdout": 0.25},
        "train": {"steps": 2, "checkpoint_every": 2, "snapshot_every": 2, "log_every": 2, "ema": 0.0}})
    run = tmp_path_factory.mktemp("p2p") / "run"
    kgan.training.train(cfg, run, verbose=False)
    files = [run / "snapshots" / name for name in ("fixed_inputs.npz", "fixed_targets.npz")]
    before = {p.name: (p.stat().st_ino, p.read_bytes()) for p in files}
    cfg = cfg.replace(**{"train.steps": 4})
    kgan.training.train(cfg, run, verbose=False)
    return {"run": run, "cfg": cfg, "before": before}
