"""Shared test setup: quiet TensorFlow, CPU only, tiny data written per test session."""

import gzip
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
    """Run `python -m kgan ARGS` in a subprocess; returns CompletedProcess with text output."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "kgan", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


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
