"""Progressive growing (ProGAN): the fade-in of G and D, the faded training data, the schedule's validation, and a
resume after SIGKILL in the middle of a fade phase. Tiny networks (width 4, up to 16x16) on CPU."""

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
from kgan import phases, stages
from kgan.errors import ConfigError
from kgan.models.growing import fade_images
from kgan.models.growth import growing_phases
from kgan.nets.progressive import ProganDiscriminator, ProganGenerator, downsample, upsample

from conftest import REPO
from test_training import history_steps, write_config


def make_cfg(target=16, fade=4, stable=4, phase_list=None, **train):
    schedule = phase_list if phase_list is not None else growing_phases(target, fade, stable)
    train = {"steps": sum(p["steps"] for p in schedule), "phases": schedule, "gradient_penalty": 10.0, "g_lr": 1e-3,
             "d_lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "ema": 0.99, "log_every": 5, "checkpoint_every": 5,
             "snapshot_every": 50, **train}
    return kgan.config.from_dict({
        "name": "grow", "seed": 3,
        "data": {"source": "mnist", "resolution": target, "resize": "resize", "limit": 256, "batch_size": 8},
        "model": {"name": "progan", "latent_dim": 8, "width": 4, "options": {"max_width": 16}},
        "train": train, "eval": {"history_samples": 64}})


@pytest.fixture(scope="module")
def nets():
    return (ProganGenerator(8, 16, channels=1, width=4, max_width=16, name="g"),
            ProganDiscriminator(16, channels=1, width=4, max_width=16, name="d"))


def test_alpha_0_is_the_previous_resolution_and_alpha_1_the_grown_network(nets):
    g, d = nets
    z = np.random.default_rng(0).standard_normal((4, 8)).astype("float32")
    x = np.random.default_rng(1).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    g.set_resolution(8)
    d.set_resolution(8)
    previous_g, previous_d = np.asarray(upsample(g(z), 2)), np.asarray(d(downsample(x, 2)))
    g.set_resolution(16)
    d.set_resolution(16)
    grown_g, grown_d = np.asarray(g(z)), np.asarray(d(x))
    g.set_resolution(16, fading=True)
    d.set_resolution(16, fading=True)
    faded = {}
    for alpha in (0.0, 0.5, 1.0):
        g.alpha.assign(alpha)
        d.alpha.assign(alpha)
        faded[alpha] = np.asarray(g(z)), np.asarray(d(x))
    np.testing.assert_array_equal(faded[0.0][0], previous_g)
    np.testing.assert_array_equal(faded[0.0][1], previous_d)
    np.testing.assert_array_equal(faded[1.0][0], grown_g)
    np.testing.assert_array_equal(faded[1.0][1], grown_d)
    assert not np.allclose(previous_g, grown_g) and not np.allclose(previous_d, grown_d)  # the block does something
    np.testing.assert_allclose(faded[0.5][0], (previous_g + grown_g) / 2, atol=1e-5)  # G's fade is linear in alpha
    g.set_resolution(16)
    d.set_resolution(16)


def test_every_resolution_exists_from_the_start(nets):
    """A checkpoint holds the same variables whatever resolution the run has reached."""
    g, _ = nets
    names = {v.path for v in g.weights}
    assert {f"g/to_rgb{r}/kernel" for r in (4, 8, 16)} <= names
    assert any(n.startswith("g/block16/") for n in names)


def test_a_checkpoint_holds_every_variable_of_every_resolution(tmp_path):
    """Both networks, the EMA shadow (which no optimizer references) and every resolution's blocks come back."""
    cfg = make_cfg()
    gan = kgan.training.build_compiled(cfg)
    rng = np.random.default_rng(0)
    for v in gan.generator.weights + gan.discriminator.weights + gan.ema_generator.weights:
        v.assign(rng.standard_normal(v.shape).astype("float32"))
    path = kgan.training._checkpoint(gan).write(str(tmp_path / "ckpt"))
    fresh = kgan.training.build_compiled(cfg)
    kgan.training._checkpoint(fresh).restore(path).expect_partial()
    for name in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(gan, name).weights, getattr(fresh, name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name}: {a.path}")


def test_training_data_is_faded_like_the_fakes(tiny_digits):
    from kgan.data.features import feature_dataset

    cfg = make_cfg()
    full, half = (next(iter(feature_dataset(cfg.data, seed=0, resolution=r, batch_size=8)))["image"].numpy()
                  for r in (16, 8))
    np.testing.assert_allclose(half, np.asarray(downsample(full, 2)), atol=1e-5)  # one box filter at every level
    np.testing.assert_allclose(np.asarray(fade_images(full, 0.0)), np.asarray(upsample(half, 2)), atol=1e-5)
    np.testing.assert_array_equal(np.asarray(fade_images(full, 1.0)), full)

    gan = kgan.training.build_compiled(cfg)
    fade = phases.plan(cfg)[3]  # 16x16 fade: steps 12-16
    assert (fade.resolution, fade.fade, fade.start, fade.end) == (16, True, 12, 16)
    gan.set_resolution(16, fade=(fade.start, fade.end))
    gan.steps_done.assign(14)
    batch = gan.batch_features({"image": tf.constant(full)})
    assert fade.alpha(14) == 0.5
    np.testing.assert_allclose(batch["image"].numpy(), np.asarray(fade_images(full, 0.5)), atol=1e-6)
    for network in (gan.generator, gan.discriminator, gan.ema_generator):
        assert float(network.alpha.numpy()) == 0.5  # real and fake are faded at the same alpha
    assert gan.inference_network().output.shape[1:] == (16, 16, 1)


def test_served_images_keep_the_target_size_while_growing():
    gan = kgan.training.build_compiled(make_cfg())
    gan.set_resolution(4)
    z = np.zeros((2, 8), "float32")
    small = np.asarray(gan.sampler(z))
    served = np.asarray(gan.inference_network()(z))
    assert small.shape == (2, 4, 4, 1) and served.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(served, np.clip(np.asarray(upsample(small, 4)), -1, 1))


@pytest.mark.parametrize("schedule, match", [
    ([{"steps": 4, "resolution": 4}, {"steps": 4, "resolution": 16, "fade": True}],
     r"phases\[1\]\.resolution: 16 after 4"),
    ([{"steps": 4, "resolution": 4}, {"steps": 4, "resolution": 8}, {"steps": 4, "resolution": 16, "fade": True}],
     r"phases\[1\]\.fade: a phase that doubles"),
    ([{"steps": 4, "resolution": 4}, {"steps": 4, "resolution": 4, "fade": True}], r"phases\[1\]\.fade: only a phase"),
    ([{"steps": 4, "resolution": 4}, {"steps": 4, "resolution": 8, "fade": True}], r"the last phase runs at 8"),
    ([{"steps": 4, "resolution": 12}], r"phases\[0\]\.resolution: 12 must be a power of two"),
    ([{"steps": 4}], r"phases\[0\]\.resolution: every phase"),
])
def test_growth_schedule_errors_name_the_phase(schedule, match):
    with pytest.raises(ConfigError, match=match):
        make_cfg(phase_list=schedule)


def test_non_growing_models_refuse_a_fade_phase():
    with pytest.raises(ConfigError, match=r"phases\[0\]\.fade: model 'dcgan' does not grow"):
        kgan.config.from_dict({"model": {"name": "dcgan"},
                               "train": {"steps": 2, "phases": [{"steps": 2, "fade": True}]}})


def test_resume_after_sigkill_in_a_fade_phase_continues_alpha_and_resolution(tmp_path):
    """Killed in the middle of the 8x8 fade, the run resumes at 8x8 with alpha from the step counter."""
    schedule = [{"steps": 10, "resolution": 4}, {"steps": 40, "resolution": 8, "fade": True},
                {"steps": 5, "resolution": 8}]
    cfg = make_cfg(target=8, phase_list=schedule, checkpoint_every=5, keep_checkpoints=50, log_every=10)
    config = write_config(tmp_path / "grow.toml", cfg)
    run_dir = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "kgan", "train", str(config), "--out", str(run_dir)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300  # TensorFlow's start and two traced phases, on a busy machine
    while not list((run_dir / "checkpoints").glob("ckpt-20.index")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint at step 20 within 300 s"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    _, gan, step = kgan.training.load_run(run_dir)
    assert 10 < step < 50, f"killed at step {step}, outside the fade phase"
    assert gan.resolution == 8 and gan.fade_range == (10, 50)
    assert float(gan.generator.alpha.numpy()) == pytest.approx((step - 10) / 40)
    assert gan.inference_network().output.shape[1:] == (8, 8, 1)

    resumed = kgan.training.train(cfg, run_dir, verbose=False)
    events = (run_dir / "logs" / "events.log").read_text()
    assert f"resumed from {run_dir / 'checkpoints' / f'ckpt-{step}'}" in events
    assert kgan.training.current_step(resumed) == 55 and resumed.resolution == 8 and resumed.fade_range is None
    # the last fade step ran at alpha (49 - 10) / 40 from the step counter, not from a count restarted at the resume
    assert float(resumed.generator.alpha.numpy()) == pytest.approx(39 / 40)
    assert history_steps(run_dir) == [10, 20, 30, 40, 50]
    phase = kgan.training.read_run_info(run_dir)["phase"]
    assert phase == {"index": 2, "name": "phase3", "resolution": 8, "alpha": 1.0}

    # each resolution's end: the fixed inputs served at 8x8 (4x4 nearest-upsampled) and its table-1 row
    with np.load(stages.snapshot_path(run_dir, 4)) as f:
        at4, step4 = f["images"], int(f["step"])
    assert at4.shape == (64, 8, 8, 1) and step4 == 10
    np.testing.assert_array_equal(at4, np.repeat(np.repeat(at4[:, ::2, ::2], 2, axis=1), 2, axis=2))
    rows = stages.read_stages(run_dir)
    assert [(r["resolution"], r["step"]) for r in rows] == [(4, 10), (8, 55)]
    assert list(rows[1]["swd"]["levels"]) == ["8"] and 0 < rows[1]["ms_ssim"] < 1 and 0 < rows[1]["ms_ssim_real"] < 1
    headers, body = stages.table(rows)
    assert headers[:4] == ["resolution", "step", "SWD 8px", "SWD 4px"] and body[0][:4] == ["4x4", "10", "", body[0][3]]
