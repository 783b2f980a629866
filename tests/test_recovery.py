"""Recovering from what crashes leave: garbage or empty checkpoint state files, truncated checkpoints,
interrupted checkpoint writes, failed earlier attempts, repeated divergence; and random SIGKILLs.

Each test reproduces a defect found by a hostile pass (issue "Hardening"); tiny 8x8 runs on CPU.
"""

import os
import random
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.training
from kgan.export import export_run

from conftest import REPO
from test_training import all_finite, history_steps, make_cfg, poisoned_dataset, write_config


def ckpt_numbers(run_dir):
    return sorted(int(p.name[5:-6]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))


def trained(tmp_path, steps=10, **train):
    cfg = make_cfg(steps=steps, checkpoint_every=5, keep_checkpoints=3, **train)
    run_dir = tmp_path / "run"
    kgan.training.train(cfg, run_dir, verbose=False)
    return cfg, run_dir


@pytest.mark.parametrize("content", ["garbage {{{ not a proto", ""], ids=["garbage", "empty"])
def test_an_unreadable_state_file_resumes_from_the_checkpoint_files(tmp_path, content):
    cfg, run_dir = trained(tmp_path)
    (run_dir / "checkpoints" / "checkpoint").write_text(content)
    assert kgan.training.load_run(run_dir)[2] == 10  # export/sample/gallery read the checkpoints too
    gan = kgan.training.train(cfg.replace(**{"train.steps": 15}), run_dir, verbose=False)
    assert kgan.training.current_step(gan) == 15
    assert ckpt_numbers(run_dir) == [5, 10, 15]  # resumed at 10: nothing restarted from 0 or was overwritten
    events = (run_dir / "logs" / "events.log").read_text()
    assert "resumed from" in events and events.count("resumed from") == 1
    if content:
        assert "was unreadable; rebuilt it" in events
    assert history_steps(run_dir) == sorted(set(history_steps(run_dir)))
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-15")


def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one(tmp_path):
    cfg, run_dir = trained(tmp_path)
    data = next((run_dir / "checkpoints").glob("ckpt-10.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    assert kgan.training.load_run(run_dir)[2] == 5  # read-only users fall back without moving anything
    assert data.exists()
    target = export_run(run_dir, "fallback", base=tmp_path / "exports")
    assert (target / "saved_model.pb").is_file()
    gan = kgan.training.train(cfg, run_dir, verbose=False)
    assert kgan.training.current_step(gan) == 10  # steps 6-10 retrained from ckpt-5
    corrupt = run_dir / "checkpoints" / "corrupt"
    assert sorted(p.name.split(".")[0] for p in corrupt.iterdir()) == ["ckpt-10", "ckpt-10"]
    events = (run_dir / "logs" / "events.log").read_text()
    assert "ckpt-10 is unreadable" in events and "resumed from" in events and "ckpt-5" in events
    assert history_steps(run_dir) == sorted(set(history_steps(run_dir)))


def test_interrupted_checkpoint_writes_are_cleaned_at_the_next_start(tmp_path):
    cfg, run_dir = trained(tmp_path)
    (run_dir / "checkpoints" / "ckpt-15_temp").mkdir()
    (run_dir / "checkpoints" / "ckpt-15_temp" / "part").write_bytes(b"x")
    (run_dir / "checkpoints" / ("checkpoint.tmp" + "0123456789abcdef" * 2)).write_text("partial")  # TF's own name
    kgan.training.train(cfg.replace(**{"train.steps": 15}), run_dir, verbose=False)
    leftovers = [p.name for p in (run_dir / "checkpoints").iterdir() if "tmp" in p.name or "_temp" in p.name]
    assert leftovers == []
    events = (run_dir / "logs" / "events.log").read_text()
    assert "left by interrupted writes" in events and "ckpt-15_temp" in events


def test_a_failed_attempt_with_another_latent_size_is_not_half_reused(tmp_path):
    """An attempt that died before its first checkpoint left snapshots, fixed inputs and history rows made for
    latent_dim 8; the rerun with latent_dim 16 starts clean (it crashed on the old fixed_z before)."""
    run_dir = tmp_path / "run"
    first = make_cfg(steps=10, checkpoint_every=100)
    kgan.training.train(first, run_dir, verbose=False)
    for p in (run_dir / "checkpoints").iterdir():
        p.unlink()
    second = make_cfg(steps=6, checkpoint_every=100, model={"latent_dim": 16})
    gan = kgan.training.train(second, run_dir, verbose=False)
    with np.load(run_dir / "snapshots" / "fixed_inputs.npz") as fixed:
        assert fixed["z"].shape == (64, 16)
    assert history_steps(run_dir) == [5]  # the first attempt's rows (5, 10) are gone, none duplicated
    assert kgan.training.current_step(gan) == 6
    assert "removing the earlier attempt's" in (run_dir / "logs" / "events.log").read_text()


def test_learning_rate_backoff_compounds_over_restores(tmp_path):
    """Two divergences with no checkpoint in between: the second restore must not reset the backoff."""
    cfg = make_cfg(steps=20, nan_patience=2, divergence_lr_factor=0.5, g_lr=2e-4, d_lr=1e-4,
                   checkpoint_every=5, max_restores=5).replace(**{"data.resolution": 16})
    run_dir = tmp_path / "run"
    gan = kgan.training.train(cfg, run_dir, verbose=False, dataset=poisoned_dataset(cfg, {6, 7, 9, 10}))
    events = (run_dir / "logs" / "events.log").read_text()
    assert events.count("restored") == 2, events
    assert float(gan.lr_factor.numpy()) == pytest.approx(0.25)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4 * 0.25)
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-4 * 0.25)
    assert all_finite(gan)
    # the factor is part of the checkpoint: a resumed run keeps it
    resumed = kgan.training.load_run(run_dir)[1]
    assert float(resumed.lr_factor.numpy()) == pytest.approx(0.25)


def weights(gan):
    return [v.numpy() for v in gan.generator.weights + gan.discriminator.weights]


def test_random_sigkills_end_like_an_uninterrupted_run(tmp_path):
    """SIGKILL `kgan train` at random moments (some during checkpoint writes) in two rounds: a killed run
    leaves no run.json or model.keras, each restart resumes from the newest checkpoint (or the one before, when the
    newest was being written), losing at most the steps since it; the run then finishes with the weights of an
    uninterrupted run, a history without duplicated steps and a loadable model."""
    steps, every = 300, 10
    cfg = make_cfg(steps=steps, checkpoint_every=every, keep_checkpoints=2, log_every=10, snapshot_every=100)
    config = write_config(tmp_path / "tiny.toml", cfg)
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "kgan", "train", str(config), "--out", str(run_dir)]
    rng = random.Random(7)
    kills, newest_at_restart = 0, []
    for _ in range(2):  # two kills (the test needs both), then a run to the end
        if ckpt_numbers(run_dir):
            newest_at_restart.append(max(ckpt_numbers(run_dir)))
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        start = max(ckpt_numbers(run_dir) or [0])
        while (max(ckpt_numbers(run_dir) or [0]) <= start) and proc.poll() is None:
            assert time.monotonic() < deadline, "no new checkpoint within 120 s"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.6))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            kills += 1
            assert proc.wait(timeout=30) == -signal.SIGKILL
            assert not (run_dir / "run.json").exists() and not (run_dir / "model.keras").exists()
        proc.wait(timeout=30)
    assert kills == 2
    newest_at_restart.append(max(ckpt_numbers(run_dir)))
    finish = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert finish.returncode == 0, finish.stderr
    events = (run_dir / "logs" / "events.log").read_text().splitlines()
    resumed_lines = [line for line in events if "resumed from" in line]
    resumed = [int(line.rsplit("ckpt-", 1)[1]) for line in resumed_lines]
    assert len(resumed) == len(newest_at_restart), events
    for line, at, newest in zip(resumed_lines, resumed, newest_at_restart, strict=True):
        assert newest - every <= at <= newest
        assert f"step {at}:" in line  # logged at the step it resumed from
    assert kgan.training.read_run_info(run_dir)["step"] == steps and max(ckpt_numbers(run_dir)) == steps
    resumed_model = kgan.training.load_run(run_dir)[1]
    straight = kgan.training.train(cfg, tmp_path / "straight", verbose=False)
    for a, b in zip(weights(straight), weights(resumed_model)):
        np.testing.assert_array_equal(a, b)
    keras.models.load_model(run_dir / "model.keras")
    logged = history_steps(run_dir)
    assert logged == list(range(10, steps + 1, 10))


def test_collapse_detector_fires_once_per_episode():
    from kgan.collapse import CollapseDetector

    detector = CollapseDetector(window=3)
    healthy = [detector.update(0.6, 1.2 + 0.1 * i) for i in range(5)]
    collapsed = [detector.update(1e-5, 9.2103) for _ in range(5)]
    assert healthy == [None] * 5
    assert collapsed[:2] == [None, None] and "collapse suspected" in collapsed[2] and collapsed[3:] == [None, None]
    detector.update(0.7, 1.0)
    assert [detector.update(0.0, 5.0) for _ in range(3)][-1] is not None  # a new episode is reported again


def test_a_collapsing_run_says_so_in_the_event_log(tmp_path):
    """Learning rate 1.0: finite losses, nothing learned (it used to pass silently)."""
    cfg = make_cfg(steps=60, g_lr=1.0, d_lr=1.0, log_every=2, checkpoint_every=100, snapshot_every=100)
    kgan.training.train(cfg, tmp_path / "run", verbose=False)
    assert "collapse suspected" in (tmp_path / "run" / "logs" / "events.log").read_text()


def _corrupt(path, rng):
    data = path.read_bytes()
    kind = rng.choice(["truncate", "flip", "empty", "delete", "garbage"])
    if kind == "delete":
        path.unlink()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "garbage":
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
    elif kind == "truncate":
        path.write_bytes(data[: rng.randrange(max(1, len(data)))])
    else:
        flipped = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            i = rng.randrange(len(flipped))
            flipped[i] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(flipped))
    return kind


def test_fuzzed_checkpoint_files_end_in_a_valid_result_or_one_line(tmp_path, capsys):
    """Seeded random corruptions of checkpoint files (index, data, state file) through `kgan export` and
    `kgan train`: exit 0 with a valid result, or exit 2 with one line and no traceback; the run's other
    files are untouched by export, and training only ever moves unreadable checkpoints aside."""
    import hashlib
    import shutil

    from kgan.cli import main

    cfg, original = trained(tmp_path)
    rng = random.Random(11)
    config = write_config(tmp_path / "tiny.toml", cfg.replace(**{"train.steps": 12}))
    for case in range(10):
        run_dir = tmp_path / f"case{case}"
        shutil.copytree(original, run_dir)
        files = sorted(p for p in (run_dir / "checkpoints").iterdir() if p.is_file())
        victim = rng.choice(files)
        kind = _corrupt(victim, rng)
        before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run_dir.rglob("*") if p.is_file()}
        command = (["train", str(config), "--out", str(run_dir)] if case % 3 == 0 else
                   ["export", str(run_dir), "--name", "fuzz", "--base", str(tmp_path / f"exports{case}")])
        code = main(command)
        err = capsys.readouterr().err
        where = f"case {case}: {kind} {victim.name}, {command[0]}"
        assert code in (0, 2), where
        if code == 2:
            lines = [l for l in err.splitlines() if l.startswith("kgan ")]
            assert len(lines) == 1 and "Traceback" not in err, (where, err)
        elif command[0] == "export":
            assert (tmp_path / f"exports{case}" / "fuzz" / "1" / "saved_model.pb").is_file(), where
        else:
            assert kgan.training.read_run_info(run_dir)["step"] == 12, where
        if command[0] == "export":  # read-only: nothing in the run changed
            after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run_dir.rglob("*") if p.is_file()}
            assert after == before, where
