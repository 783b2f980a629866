"""Run directories, resume, determinism, the divergence guard and the train/sample CLI.

Tiny runs on CPU: DCGAN width 8, latent 8, 8x8 MNIST (256 images), batch 16, at most 40 steps in
process; the CLI error test runs real processes (exit status and stderr as a shell sees them). SIGKILL and
resume: tests/test_recovery.py.
"""

import csv
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import kgan.config
import kgan.models
import kgan.errors
import kgan.training
from kgan.errors import CheckpointError
from kgan.imageio import to_uint8

from conftest import REPO, cli

RES = 8
BATCH = 16


def make_cfg(seed=0, model=None, **train):
    train.setdefault("ema", 0.0)
    train.setdefault("steps", 20)
    train.setdefault("checkpoint_every", 5)
    train.setdefault("keep_checkpoints", 2)
    train.setdefault("snapshot_every", 10)
    train.setdefault("log_every", 5)
    return kgan.config.from_dict({
        "name": "tiny", "seed": seed,
        "model": {"name": "dcgan", "width": 8, "latent_dim": 8, **(model or {})},
        "data": {"source": "mnist", "resolution": RES, "resize": "resize", "limit": 256, "batch_size": BATCH},
        "train": train,
    })


def write_config(path: Path, cfg) -> Path:
    path.write_text(kgan.config.dump_toml(cfg))
    return path


def state(gan) -> dict:
    """Every variable that defines the training state, by a stable key."""
    out = {}
    for prefix, variables in (("g", gan.generator.weights), ("d", gan.discriminator.weights),
                              ("g_opt", gan.g_optimizer.variables), ("d_opt", gan.d_optimizer.variables)):
        for i, v in enumerate(variables):
            out[f"{prefix}/{i}/{v.path}"] = np.array(v.numpy(), copy=True)
    out["seed"] = np.array(gan.seed_generator.state.numpy(), copy=True)
    return out


def assert_same_state(a: dict, b: dict):
    assert len(a) == len(b)
    for (ka, va), (kb, vb) in zip(a.items(), b.items()):
        assert va.shape == vb.shape, (ka, kb)
        assert np.array_equal(va, vb), f"{ka} differs (max abs diff {np.max(np.abs(va - vb.astype(va.dtype)))})"


def history_steps(run_dir: Path) -> list[int]:
    with open(run_dir / "logs" / "history.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def ckpt_steps(run_dir: Path) -> list[int]:
    return sorted(int(p.name[len("ckpt-"):-len(".index")]) for p in (run_dir / "checkpoints").glob("ckpt-*.index"))


def latest_ckpt_step(run_dir: Path) -> int | None:
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    return int(latest.rsplit("-", 1)[1]) if latest else None


@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """20 uninterrupted steps of the reference config: (run_dir, gan, state)."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    gan = kgan.training.train(make_cfg(), run_dir, verbose=False)
    return run_dir, gan, state(gan)


# ----- 1. run directory layout -----------------------------------------------------------------------------------

def test_run_directory_layout(straight_run):
    run_dir, gan, _ = straight_run
    cfg = make_cfg()
    assert kgan.config.load_config(run_dir / "config.toml") == cfg

    info = kgan.training.read_run_info(run_dir)
    assert info["step"] == 20 and info["model"] == "dcgan" and info["latent_dim"] == 8
    assert info["image_shape"] == [RES, RES, 1] and info["num_classes"] == 0

    # keep_checkpoints = 2: only the last two of 5, 10, 15, 20
    assert ckpt_steps(run_dir) == [15, 20]
    assert latest_ckpt_step(run_dir) == 20

    with np.load(run_dir / "snapshots" / "fixed_inputs.npz") as fixed:  # one array per declared input
        assert fixed.files == ["z"]
        z = fixed["z"]
    assert z.shape == (64, 8) and z.dtype == np.float32
    assert info["networks"].keys() == {"generator", "discriminator"}
    assert info["ema"] == (["generator"] if cfg.train.ema else [])
    assert info["optimizers"].keys() == {"discriminator", "generator"} and info["phase"]["name"] == "train"
    snaps = sorted(p.name for p in (run_dir / "snapshots").glob("step_*.npz"))
    assert snaps == ["step_0000000.npz", "step_0000010.npz", "step_0000020.npz"]
    for name in snaps:
        with np.load(run_dir / "snapshots" / name) as npz:
            assert npz["images"].dtype == np.uint8
            assert npz["images"].shape == (64, RES, RES, 1)
            assert int(npz["step"]) == int(name[5:12])
    with np.load(run_dir / "snapshots" / "step_0000020.npz") as npz:
        np.testing.assert_array_equal(npz["images"], to_uint8(gan.generate(z)))

    assert history_steps(run_dir) == [5, 10, 15, 20]
    with open(run_dir / "logs" / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for key in ("wall_time", "images_per_sec", "d_loss", "g_loss", "d_real", "d_fake", "nonfinite"):
        assert all(np.isfinite(float(r[key])) for r in rows), key
    # the same scalars, at the same steps, in TensorBoard event files
    events = list((run_dir / "logs" / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    logged = {(v.tag, e.step) for path in events for e in tf.compat.v1.train.summary_iterator(str(path))
              for v in e.summary.value}
    assert {("d_loss", s) for s in (5, 10, 15, 20)} <= logged and ("g_loss", 20) in logged

    loaded = keras.models.load_model(run_dir / "model.keras")
    assert isinstance(loaded, kgan.models.GAN)
    for a, b in zip(loaded.generator.weights, gan.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(loaded.generate(z[:4]).numpy(), gan.generate(z[:4]).numpy())

    cfg2, restored, step = kgan.training.load_run(run_dir)
    assert step == 20 and cfg2 == cfg


# ----- 2. determinism ------------------------------------------------------------------------------------------

def test_same_seed_is_bitwise_reproducible_and_another_seed_is_not(straight_run, tmp_path):
    _, _, reference = straight_run
    again = kgan.training.train(make_cfg(), tmp_path / "again", verbose=False)
    assert_same_state(reference, state(again))

    other = state(kgan.training.train(make_cfg(seed=1), tmp_path / "seed1", verbose=False))
    g_keys = [k for k in reference if k.startswith("g/")]
    assert any(not np.array_equal(reference[k], other[k]) for k in g_keys)
    d_keys = [k for k in reference if k.startswith("d/")]
    assert any(not np.array_equal(reference[k], other[k]) for k in d_keys)


# ----- 3. resume ---------------------------------------------------------------------------------------------------

def test_resume_matches_an_uninterrupted_run(straight_run, tmp_path):
    ref_dir, _, reference = straight_run
    run_dir = tmp_path / "resumed"
    first = kgan.training.train(make_cfg(steps=10), run_dir, verbose=False)
    assert kgan.training.current_step(first) == 10
    gan = kgan.training.train(make_cfg(steps=10).replace(**{"train.steps": 20}), run_dir, verbose=False)
    assert kgan.training.current_step(gan) == 20
    assert_same_state(reference, state(gan))
    assert history_steps(run_dir) == [5, 10, 15, 20]
    events = (run_dir / "logs" / "events.log").read_text()
    assert "resumed from" in events and "ckpt-10" in events
    for name in ("step_0000010.npz", "step_0000020.npz"):
        with np.load(run_dir / "snapshots" / name) as a, np.load(ref_dir / "snapshots" / name) as b:
            np.testing.assert_array_equal(a["images"], b["images"])


def test_resume_with_a_different_model_section_is_refused(tmp_path):
    run_dir = tmp_path / "run"
    kgan.training.train(make_cfg(steps=2, checkpoint_every=2), run_dir, verbose=False)
    changed = make_cfg(steps=4, model={"width": 16})
    with pytest.raises(CheckpointError, match=r"\[model\]"):
        kgan.training.train(changed, run_dir, verbose=False)
    with pytest.raises(CheckpointError, match="already holds checkpoints"):
        kgan.training.train(make_cfg(steps=4), run_dir, resume=False, verbose=False)
    # nothing was overwritten by the refused attempts
    assert kgan.config.load_config(run_dir / "config.toml").model.width == 8


# ----- 4. divergence guard --------------------------------------------------------------------------------------

def poisoned_dataset(cfg, nan_batches: set[int], n_batches: int = 40):
    """A finite stream of the config's batches; the listed batch indices are all-NaN."""
    from kgan.data import make_dataset

    ds = make_dataset(cfg.data, seed=0, repeat=True).take(n_batches)
    batches = [(x.numpy(), y.numpy()) for x, y in ds]
    for i in nan_batches:
        batches[i][0][:] = np.nan
    x = np.stack([b[0] for b in batches])
    y = np.stack([b[1] for b in batches])
    return tf.data.Dataset.from_tensor_slices((x, y))


def all_finite(gan) -> bool:
    return all(np.all(np.isfinite(v.numpy())) for v in gan.generator.weights + gan.discriminator.weights)


def test_divergence_restores_the_last_checkpoint_and_lowers_the_learning_rate(tmp_path):
    cfg = make_cfg(steps=20, nan_patience=2, divergence_lr_factor=0.25, g_lr=2e-4, d_lr=1e-4)
    cfg = cfg.replace(**{"data.resolution": 16})  # 16x16: the discriminator has a batchnorm layer too
    run_dir = tmp_path / "run"
    # batches 7 and 8 (steps 8 and 9) are NaN -> guard after step 9 restores ckpt-5
    gan = kgan.training.train(cfg, run_dir, verbose=False, dataset=poisoned_dataset(cfg, {7, 8}))
    events = (run_dir / "logs" / "events.log").read_text()
    assert "divergence" in events and "ckpt-5" in events, events
    assert float(gan.d_optimizer.learning_rate) == pytest.approx(1e-4 * 0.25)
    assert float(gan.g_optimizer.learning_rate) == pytest.approx(2e-4 * 0.25)
    assert int(gan.nonfinite_steps.numpy()) == 0
    assert all_finite(gan)
    assert kgan.training.current_step(gan) == cfg.train.steps
    assert kgan.training.read_run_info(run_dir)["step"] == cfg.train.steps
    steps = history_steps(run_dir)
    assert len(steps) == len(set(steps))


def test_a_run_that_keeps_diverging_stops_with_a_clear_error(tmp_path):
    """Every batch NaN: after train.max_restores restores the run stops (instead of looping forever)."""
    cfg = make_cfg(steps=20, nan_patience=2, max_restores=2, checkpoint_every=100).replace(
        **{"data.resolution": 16})
    run_dir = tmp_path / "run"
    with pytest.raises(kgan.errors.TrainingDivergedError, match="after 2 restores"):
        kgan.training.train(cfg, run_dir, verbose=False, dataset=poisoned_dataset(cfg, set(range(40))).repeat())
    events = (run_dir / "logs" / "events.log").read_text()
    assert events.count("restored") == 2 and "stopping" in events, events
    assert not (run_dir / "run.json").exists()  # an unfinished run is not reported as finished


def test_a_non_finite_step_below_patience_does_not_poison_the_weights(tmp_path):
    """One NaN batch: the update is skipped, no restore happens, and no variable becomes NaN."""
    cfg = make_cfg(steps=10, nan_patience=3).replace(**{"data.resolution": 16})
    gan = kgan.training.train(cfg, tmp_path / "run", verbose=False, dataset=poisoned_dataset(cfg, {3}))
    assert not (tmp_path / "run" / "logs" / "events.log").exists()
    assert kgan.training.current_step(gan) == 10
    bad = [v.path for v in gan.generator.weights + gan.discriminator.weights if not np.all(np.isfinite(v.numpy()))]
    assert not bad, f"non-finite after a skipped step: {bad}"


# ----- 5. CLI ------------------------------------------------------------------------------------------------------

def test_cli_train_then_sample(tmp_path):
    config = write_config(tmp_path / "tiny.toml", make_cfg(steps=50, checkpoint_every=2, keep_checkpoints=3))
    run_dir = tmp_path / "run"
    r = cli("train", str(config), "--out", str(run_dir), "--steps", "5", "--set", "train.d_lr=1e-3")
    assert r.returncode == 0, r.stderr
    saved = kgan.config.load_config(run_dir / "config.toml")
    assert saved.train.d_lr == 1e-3 and saved.train.steps == 5 and saved.train.g_lr == 2e-4
    assert kgan.training.read_run_info(run_dir)["step"] == 5
    assert ckpt_steps(run_dir) == [2, 4, 5]

    grid = tmp_path / "grid.png"
    r = cli("sample", str(run_dir), "--n", "16", "--out", str(grid))
    assert r.returncode == 0, r.stderr
    with Image.open(grid) as im:
        im.verify()
    with Image.open(grid) as im:
        assert im.format == "PNG" and im.size == (4 * RES * 2, 4 * RES * 2)  # 4x4 grid, --scale 2 default
        from_run = np.asarray(im)

    ckpt_grid = tmp_path / "ckpt2.png"
    r = cli("sample", str(run_dir / "checkpoints" / "ckpt-2"), "--n", "16", "--out", str(ckpt_grid))
    assert r.returncode == 0, r.stderr
    with Image.open(ckpt_grid) as im:
        assert im.format == "PNG" and im.size == (4 * RES * 2, 4 * RES * 2)
        from_ckpt2 = np.asarray(im)
    assert not np.array_equal(from_run, from_ckpt2), "ckpt-2 sampled the same weights as the latest checkpoint"

    # --no-resume on a run that holds checkpoints
    r = cli("train", str(config), "--out", str(run_dir), "--steps", "6", "--no-resume")
    assert r.returncode == 2 and "already holds checkpoints" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert kgan.training.read_run_info(run_dir)["step"] == 5


def test_cli_errors_exit_2_without_traceback(tmp_path):
    config = write_config(tmp_path / "tiny.toml", make_cfg(steps=5))
    procs = {
        "missing": subprocess.Popen([sys.executable, "-m", "kgan", "sample", str(tmp_path / "nope"), "--out",
                                     str(tmp_path / "x.png")], cwd=REPO, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True),
        "bogus": subprocess.Popen([sys.executable, "-m", "kgan", "train", str(config), "--out",
                                   str(tmp_path / "run"), "--set", "train.bogus=1"], cwd=REPO,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    }
    out = {k: (p.communicate(timeout=300), p.returncode) for k, p in procs.items()}
    (_, err), rc = out["missing"]
    assert rc == 2 and "nope" in err and "Traceback" not in err, err
    assert not (tmp_path / "x.png").exists()
    (_, err), rc = out["bogus"]
    assert rc == 2 and "train.bogus" in err and "Traceback" not in err, err
    assert not (tmp_path / "run").exists()
