"""The engine beyond z -> image: toy models written only through kgan's public surface (tests/toy_models),
phases, lazy terms, and model validation at config load.

Tiny runs on CPU (8x8 MNIST, 256 images, batch 16, a few steps); the phase SIGKILL test runs a subprocess.
"""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.training
from kgan.errors import ConfigError
from kgan.models.terms import StepContext, Term

from conftest import REPO

TRANSLATOR = "tests.toy_models.translator:Translator"
LATENT_AE = "tests.toy_models.latent_ae:LatentAE"


def make_cfg(model="dcgan", transform="", steps=8, **train):
    train = {"ema": 0.0, "checkpoint_every": 4, "keep_checkpoints": 5, "snapshot_every": 4, "log_every": 2,
             "steps": steps, **train}
    return kgan.config.from_dict({
        "name": "toy", "model": {"name": model, "width": 8, "latent_dim": 8},
        "data": {"source": "mnist", "resolution": 8, "resize": "resize", "limit": 256, "batch_size": 16,
                 "transform": transform},
        "train": train})


def weights(model) -> list:
    return [np.array(v.numpy()) for net in model.networks().values() for v in net.weights]


def history_columns(run_dir) -> list[str]:
    return (run_dir / "logs" / "history.csv").read_text().splitlines()[0].split(",")


def assert_resume_is_exact(cfg, tmp_path):
    """Training in two sessions (stopped at half, resumed) ends with the weights of one uninterrupted run."""
    straight = kgan.training.train(cfg, tmp_path / "straight", verbose=False)
    half = cfg.replace(**{"train.steps": cfg.train.steps // 2})
    kgan.training.train(half, tmp_path / "split", verbose=False)
    resumed = kgan.training.train(cfg, tmp_path / "split", verbose=False)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)
    return straight


def test_image_to_image_model_with_a_patch_critic_trains_and_resumes(tmp_path):
    cfg = make_cfg(TRANSLATOR, transform="mask")
    model = assert_resume_is_exact(cfg, tmp_path)
    assert model.discriminator.output.shape[1:] == (4, 4, 1)  # per-patch logits
    run = tmp_path / "straight"
    assert {"discriminator_loss", "generator_loss", "l1"} <= set(history_columns(run))
    with np.load(run / "snapshots" / "fixed_inputs.npz") as fixed:
        assert fixed.files == ["source"] and fixed["source"].shape[1:] == (8, 8, 2)
    with np.load(run / "snapshots" / "step_0000008.npz") as snap:
        assert snap["images"].shape == (64, 8, 8, 1)
    info = kgan.training.read_run_info(run)
    assert info["target_feature"] == "target" and info["features"] == ["source", "target"]
    assert info["inputs"][0]["draw"] == "image" and info["image_shape"] == [8, 8, 1]


def test_autoencoder_with_a_critic_on_latent_codes_trains_and_resumes(tmp_path):
    cfg = make_cfg(LATENT_AE, ema=0.9)
    model = assert_resume_is_exact(cfg, tmp_path)
    assert model.latent_critic.output.shape[1:] == (1,) and model.encoder.output.shape[1:] == (8,)
    columns = history_columns(tmp_path / "straight")
    assert {"critic_loss", "autoencoder_loss", "reconstruction"} <= set(columns)
    info = kgan.training.read_run_info(tmp_path / "straight")
    assert set(info["networks"]) == {"encoder", "decoder", "latent_critic"}
    assert set(info["optimizers"]) == {"critic", "autoencoder"} and info["ema"] == ["decoder"]
    assert info["inputs"] == [{"name": "z", "draw": "normal", "shape": [8], "classes": 0, "low": -1.0,
                               "high": 1.0, "feature": ""}]
    # the EMA shadow is what serves
    assert model.inference_network() is model.ema_decoder


def test_missing_data_features_are_named(tmp_path):
    cfg = make_cfg(TRANSLATOR)  # no data.transform: no source/target features
    with pytest.raises(ConfigError, match=r"missing \['source', 'target'\]; see data\.transform"):
        kgan.training.train(cfg, tmp_path / "run", verbose=False)


def test_phases_set_learning_rates_and_terms_and_are_recorded(tmp_path):
    cfg = make_cfg("wgan_gp", steps=8, gradient_penalty=10.0, phases=[
        {"name": "warm", "steps": 4, "g_lr": 1e-3, "d_lr": 3e-3},
        {"name": "main", "steps": 4, "g_lr": 1e-4, "terms": {"gp": 0.0}}])
    gan = kgan.training.train(cfg, tmp_path / "run", verbose=False)
    assert float(gan.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(gan.discriminator_optimizer.learning_rate) == pytest.approx(cfg.train.d_lr)
    assert gan.active_terms("discriminator")[-1][0].name == "d_adv"  # gp is off in phase 2
    info = kgan.training.read_run_info(tmp_path / "run")
    assert info["phase"] == {"index": 1, "name": "main"}
    events = (tmp_path / "run" / "logs" / "events.log").read_text()
    assert "phase 1/2 'warm'" in events and "phase 2/2 'main'" in events
    rows = (tmp_path / "run" / "logs" / "history.csv").read_text().splitlines()
    gp = [float(r.split(",")[rows[0].split(",").index("gp")]) for r in rows[1:]]
    assert gp[0] > 0 and gp[-1] == 0  # logged per window: on in phase 1, off in phase 2


def test_phase_errors_are_named():
    with pytest.raises(ConfigError, match=r"train\.steps: 8, but the phases add up to 5"):
        make_cfg(phases=[{"steps": 5}])
    with pytest.raises(ConfigError, match=r"train\.phases\[0\]\.speed"):
        make_cfg(steps=5, phases=[{"steps": 5, "speed": 1}])
    with pytest.raises(ConfigError, match=r"train\.phases\[0\]\.resolution"):
        make_cfg(steps=5, phases=[{"steps": 5, "resolution": 16}])
    cfg = make_cfg(steps=5, phases=[{"steps": 5, "terms": {"gp": 1.0}}])
    with pytest.raises(ConfigError, match=r"no loss term 'gp'"):
        kgan.training.build_compiled(cfg)


def test_lazy_term_runs_every_n_steps_scaled_by_n():
    term = Term("r1", "discriminator", lambda ctx: tf.constant(2.0), weight=0.5, every=4)
    values = [float(term.evaluate(StepContext(None, {}, {}, tf.constant(s, tf.int64)), 0.5)[0]) for s in range(8)]
    assert values == [4.0, 0, 0, 0, 4.0, 0, 0, 0]  # 0.5 * 4 * 2 on steps 0 and 4: the same mean as 0.5 * 2


def test_model_validation_at_config_load_needs_no_tensorflow():
    code = ("import sys, kgan.config as c\n"
            "for bad in ({'model': {'name': 'dcgan', 'options': {'tricks': ['minibach_stddev']}}},\n"
            "            {'model': {'name': 'wgan'}}, {'model': {'name': 'acgan'}}, {'data': {'resolution': 30}}):\n"
            "    try: c.from_dict(bad); print('accepted')\n"
            "    except c.ConfigError as e: print(str(e).split(':')[0])\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["model.options.tricks", "train.clip_value", "model.num_classes", "data.resolution",
                                  "False", "False"]


def test_sigkill_in_phase_two_resumes_like_an_uninterrupted_run(tmp_path):
    steps = 400
    cfg = make_cfg(steps=steps, checkpoint_every=20, keep_checkpoints=3, log_every=20, snapshot_every=200,
                   phases=[{"name": "fast", "steps": 100, "g_lr": 1e-3, "d_lr": 1e-3},
                           {"name": "slow", "steps": 300, "g_lr": 1e-4, "d_lr": 1e-4}])
    config = tmp_path / "phased.toml"
    config.write_text(kgan.config.dump_toml(cfg))
    run_dir = tmp_path / "run"
    cmd = [sys.executable, "-m", "kgan", "train", str(config), "--out", str(run_dir)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while not (latest := tf.train.latest_checkpoint(str(run_dir / "checkpoints"))) or int(latest.split("-")[-1]) <= 120:
            assert proc.poll() is None, "training exited before phase 2 was checkpointed"
            assert time.monotonic() < deadline, "phase 2 not reached within 240 s"
            time.sleep(0.02)
        time.sleep(0.1)
        assert proc.poll() is None, "training finished before it could be killed: raise the steps"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    killed_at = int(tf.train.latest_checkpoint(str(run_dir / "checkpoints")).split("-")[-1])
    assert 100 < killed_at < steps
    r = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    resumed = kgan.training.load_run(run_dir)[1]
    assert float(resumed.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    straight = kgan.training.train(cfg, tmp_path / "straight", verbose=False)
    for a, b in zip(weights(straight), weights(resumed)):
        np.testing.assert_array_equal(a, b)
    events = (run_dir / "logs" / "events.log").read_text()
    assert f"step {killed_at}: resumed from" in events and "phase 2/2 'slow'" in events


@pytest.mark.parametrize("model,transform,metrics", [
    (TRANSLATOR, "mask", ["fid", "l1", "psnr", "ssim"]),
    (LATENT_AE, "", ["fid", "is"]),
], ids=["translator", "latent_ae"])
def test_toy_models_run_the_whole_pipeline(tmp_path, model, transform, metrics):
    """Prepare, train, export, evaluate and render through `kgan pipeline`: the GANs' own code paths."""
    import json

    from conftest import cli

    cfg = kgan.config.from_dict({
        "name": "toy", "model": {"name": model, "width": 8, "latent_dim": 8},
        "data": {"source": "mnist", "limit": 256, "batch_size": 16, "transform": transform},
        "train": {"steps": 10, "checkpoint_every": 5, "snapshot_every": 5, "log_every": 5, "ema": 0.9},
        "eval": {"num_samples": 64, "classifier_epochs": 1, "history_every": 0, "metrics": metrics}})
    config = tmp_path / "toy.toml"
    config.write_text(kgan.config.dump_toml(cfg))
    r = cli("pipeline", str(config), "--root", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = {l.split()[0]: l.split()[-1] for l in r.stdout.splitlines() if l.startswith("  ")}
    report = json.loads(open(summary["metrics_report"]).read())
    assert set(metrics) <= set(report["metrics"])
    meta = json.loads((tmp_path / summary["saved_model"] / "assets" / "kgan_metadata.json").read_text())
    loaded = tf.saved_model.load(summary["saved_model"])
    served_inputs = sorted(loaded.signatures["serving_default"].structured_input_signature[1])
    page = open(summary["gallery"]).read()
    if model == TRANSLATOR:
        assert report["num_pairs"] == 64 and 0 <= report["metrics"]["l1"]["mean"] <= 1
        assert served_inputs == ["source"] and "sample" not in loaded.signatures  # image -> image
        assert meta["target_feature"] == "target" and "Input | output | target" in page
    else:
        assert served_inputs == ["z"] and "sample" in loaded.signatures
        out = loaded.signatures["sample"](num_samples=tf.constant(3), seed=tf.constant(1),
                                          truncation=tf.constant(1.0))
        assert out["images"].shape == (3, 28, 28, 1)
        assert "walk" in page.lower()
