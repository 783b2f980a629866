"""pix2pix and the paired-data transforms: U-Net wiring, PatchGAN patches, the loss terms against hand
computation, transforms deterministic per seed, the held-out split, and a shipped config end to end."""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.models
from kgan.data import transforms
from kgan.data.features import feature_arrays
from kgan.errors import ConfigError
from kgan.models.terms import StepContext
from kgan.nets.patchgan import default_depth, patchgan_discriminator, receptive_field
from kgan.nets.unet import unet_generator

from conftest import REPO, cli


def cfg(transform="mask", **data):
    return kgan.config.from_dict({"name": "p2p", "model": {"name": "pix2pix", "width": 8},
                                  "data": {"source": "mnist", "limit": 128, "batch_size": 8, "transform": transform,
                                           **data}})


@pytest.mark.parametrize("resolution,skips", [(28, 1), (32, 2), (64, 3)])
def test_unet_shapes_and_skip_wiring(resolution, skips):
    g = unet_generator((resolution, resolution, 2), (resolution, resolution, 1), width=4)
    assert g.output.shape[1:] == (resolution, resolution, 1)
    concats = [l for l in g.layers if l.name.startswith("skip_")]
    assert len(concats) == skips  # every decoder block but the last joins its encoder twin
    for layer in concats:
        a, b = layer.input
        assert a.shape[1:3] == b.shape[1:3]


def test_dropout_is_the_noise_at_inference_and_can_be_switched_off():
    x = np.random.default_rng(0).uniform(-1, 1, (1, 28, 28, 2)).astype("float32")
    on = unet_generator((28, 28, 2), (28, 28, 1), width=4, dropout_at_inference=True)
    assert not np.allclose(on(x, training=False), on(x, training=False))
    off = unet_generator((28, 28, 2), (28, 28, 1), width=4, dropout_at_inference=False)
    np.testing.assert_array_equal(off(x, training=False), off(x, training=False))


def test_inference_dropout_repeats_in_a_fresh_copy_and_follows_the_seed():
    """The noise is seeded in the layers' config: a model rebuilt from its config and weights (a fresh process,
    a loaded export) draws the same sequence, so galleries and evaluations repeat; another seed differs."""
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 2)).astype("float32")
    g = unet_generator((28, 28, 2), (28, 28, 1), width=4, seed=3)

    def fresh(model):
        copy = keras.Model.from_config(model.get_config())
        copy.set_weights(model.get_weights())
        return copy

    first, again = fresh(g), fresh(g)
    np.testing.assert_array_equal(first(x, training=False), again(x, training=False))
    other = keras.Model.from_config(unet_generator((28, 28, 2), (28, 28, 1), width=4, seed=4).get_config())
    other.set_weights(g.get_weights())
    assert not np.allclose(first(x, training=False), other(x, training=False))


def test_patchgan_patch_sizes():
    assert [receptive_field(d) for d in (1, 2, 3, 4)] == [16, 34, 70, 142]  # 70x70 at depth 3: the paper's
    assert [default_depth(r) for r in (28, 32, 64, 128, 256)] == [1, 1, 1, 2, 3]
    d = patchgan_discriminator((28, 28, 2), (28, 28, 1), width=4)
    assert d.output.shape[1:] == (14, 14, 1)
    low = patchgan_discriminator((7, 7, 1), (28, 28, 1), width=4, depth=2)  # a low-resolution source
    assert low.output.shape[1:] == (7, 7, 1)


def test_halved_d_loss_and_weighted_l1_match_hand_computation():
    model = kgan.models.build_gan(cfg("mask:half"))
    model.compile(optimizers={"discriminator": "adam", "generator": "adam"})
    data = feature_arrays((model_cfg := cfg("mask:half")).data, 8)
    batch = {k: tf.constant(v) for k, v in data.items()}
    fake = tf.constant(np.random.default_rng(1).uniform(-1, 1, data["target"].shape).astype("float32"))
    ctx = StepContext(model, batch, {"image": fake}, tf.constant(0, tf.int64))
    terms = {t.name: t for t in model.terms}
    real_logits = model.discriminator({"source": batch["source"], "image": batch["target"]}, training=True)
    fake_logits = model.discriminator({"source": batch["source"], "image": fake}, training=True)
    softplus = lambda t: np.log1p(np.exp(t))  # noqa: E731
    expected_d = 0.5 * (softplus(-np.asarray(real_logits)).mean() + softplus(np.asarray(fake_logits)).mean())
    d_value, d_logs = terms["d_adv"].evaluate(ctx, 1.0)
    assert float(d_value) == pytest.approx(expected_d, rel=1e-4)  # batchnorm in training mode: same batch stats
    l1_value, l1_logs = terms["l1"].evaluate(StepContext(model, batch, {"image": fake}, tf.constant(0, tf.int64)), 100.0)
    error = np.abs(np.asarray(fake) - data["target"])
    assert float(l1_value) == pytest.approx(100 * error.mean(), rel=1e-5)
    hole = data["mask"]
    assert float(l1_logs["l1_hole"]) == pytest.approx((error * hole).sum() / hole.sum(), rel=1e-5)
    assert model_cfg.data.transform == "mask:half"


@pytest.mark.parametrize("spec", ["mask", "mask:half", "edges", "blur:1.5", "downsample:2", "label_map:10",
                                  "blur:trajectory+noise:0.05", "downsample:2:bicubic+jpeg:50"])
def test_transforms_are_deterministic_per_seed_and_shaped_as_declared(spec):
    c = cfg(spec)
    a, b = feature_arrays(c.data, 8, seed=3), feature_arrays(c.data, 8, seed=3)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert a["source"].shape[1:] == transforms.source_shape(spec, c.data)
    np.testing.assert_array_equal(a["target"], a["image"])
    assert a["source"].min() >= -1.0 - 1e-5 and a["source"].max() <= 1.0 + 1e-5


def test_masks_keep_every_known_pixel_and_hide_the_hole():
    data = feature_arrays(cfg("mask").data, 8, seed=0)
    known = data["mask"] == 0
    np.testing.assert_array_equal(data["source"][..., :1][known], data["target"][known])
    assert np.all(data["source"][..., :1][~known] == -1) and np.all(data["source"][..., 1:] == data["mask"])
    assert np.all(data["mask"].mean(axis=(1, 2, 3)) == pytest.approx(0.25))  # a box of half the side
    other = feature_arrays(dataclasses.replace(cfg("mask").data, shuffle_buffer=0), 8, seed=1)
    assert not np.array_equal(other["mask"], data["mask"])  # the seed moves the boxes
    half = feature_arrays(cfg("mask:half").data, 4)
    assert np.all(half["mask"][:, 14:] == 1) and np.all(half["mask"][:, :14] == 0)


def test_transform_and_model_errors_name_the_key():
    with pytest.raises(ConfigError, match="data.transform"):
        kgan.config.from_dict({"model": {"name": "pix2pix"}})  # pix2pix needs pairs
    with pytest.raises(ConfigError, match="data.transform: colorize.*channels = 3"):
        cfg("colorize")
    with pytest.raises(ConfigError, match="data.transform: 'blur:0'"):
        cfg("blur:0")
    with pytest.raises(ConfigError, match="model.options.lambda"):
        kgan.config.from_dict({"model": {"name": "pix2pix", "options": {"lambda": 10}},
                               "data": {"transform": "edges"}})


def test_holdout_split_is_disjoint_and_complete():
    c = dataclasses.replace(cfg("edges").data, holdout=0.25, shuffle_buffer=0)
    train = feature_arrays(c, 1000, split="train")["image"]
    held = feature_arrays(c, 1000, split="holdout")["image"]
    assert len(train) == 96 and len(held) == 32
    everything = feature_arrays(dataclasses.replace(c, holdout=0.0), 1000)["image"]
    np.testing.assert_array_equal(np.concatenate([train, held]), everything)
    # "evaluation": the held-out examples when there are any, else the training data
    np.testing.assert_array_equal(feature_arrays(c, 1000, split="evaluation")["image"], held)
    no_holdout = dataclasses.replace(c, holdout=0.0)
    np.testing.assert_array_equal(feature_arrays(no_holdout, 1000, split="evaluation")["image"], everything)


def test_shipped_inpainting_pipeline_runs_end_to_end(tmp_path):
    """pipelines/mnist_inpaint.toml, shortened: train, export (image -> image), evaluate on held-out pairs."""
    shipped = kgan.config.load_config("mnist_inpaint")
    small = shipped.replace(**{"data.limit": 320, "model.width": 8, "train.steps": 6, "train.log_every": 3,
                               "train.checkpoint_every": 3, "train.snapshot_every": 3, "eval.num_samples": 32,
                               "eval.classifier_epochs": 1, "eval.baselines": ["l1_only"],
                               "eval.history_every": 3, "eval.history_samples": 16})
    config = tmp_path / "inpaint.toml"
    config.write_text(kgan.config.dump_toml(small))
    r = cli("pipeline", str(config), "--root", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = {l.split()[0]: l.split()[-1] for l in r.stdout.splitlines() if l.startswith("  ")}
    report = json.loads(open(summary["metrics_report"]).read())
    assert report["num_pairs"] == 32 and {"fid", "l1", "psnr", "ssim", "output_accuracy"} <= set(report["metrics"])
    points = report["reference_points"]
    assert set(points) == {"real_vs_real", "pixel_gaussian", "identity", "l1_only"}
    assert set(points["identity"]["metrics"]) == set(points["l1_only"]["metrics"]) == set(report["metrics"])
    assert points["identity"]["metrics"]["output_accuracy"]["num_labelled"] == 32
    baseline_history = next((tmp_path / "out" / "mnist_inpaint-l1_only").glob("train-*/logs/history.csv"))
    assert "l1_hole" in baseline_history.read_text().splitlines()[0]
    loaded = tf.saved_model.load(summary["saved_model"])
    signature = loaded.signatures["serving_default"]
    source = np.zeros((2, 28, 28, 2), np.uint8)
    assert signature(source=tf.constant(source))["images"].shape == (2, 28, 28, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"shaped \[batch, 28, 28, 2\]; got shape\] \[2 28 28 1\]"):
        signature(source=tf.constant(np.zeros((2, 28, 28, 1), np.uint8)))  # wrong channels fail clearly
    run_dir = next((tmp_path / "out" / "mnist_inpaint").glob("train-*"))
    assert "l1_hole" in (run_dir / "logs" / "history.csv").read_text().splitlines()[0]
    # FID during training, fed with the held-out masked digits (it failed after training: no data for the model)
    assert sorted(p.name for p in (run_dir / "reports").glob("step_*.json")) == ["step_0000003.json", "step_0000006.json"]


def test_fixed_examples_are_held_out_survive_a_resume_and_snapshot_as_triptychs(p2p_run):
    from kgan import triptych

    run, cfg = p2p_run["run"], p2p_run["cfg"]
    for name, (inode, data) in p2p_run["before"].items():  # read back on resume, never redrawn or rewritten
        path = run / "snapshots" / name
        assert (path.stat().st_ino, path.read_bytes()) == (inode, data), name
    with np.load(run / "snapshots" / "fixed_inputs.npz") as f, np.load(run / "snapshots" / "fixed_targets.npz") as t:
        source, target = f["source"], t["target"]
    held = feature_arrays(cfg.data, 64, seed=cfg.seed, split="holdout")
    assert len(source) == len(held["source"]) == 16  # a quarter of 64 examples
    np.testing.assert_array_equal(source, held["source"])
    np.testing.assert_array_equal(target, held["target"])
    assert not np.array_equal(target, feature_arrays(cfg.data, 16, seed=cfg.seed, split="train")["target"])
    for step in (0, 2, 4):  # before and after the resume: the same inputs and targets beside each output
        with np.load(run / "snapshots" / f"step_{step:07d}.npz") as snap:
            grid, images, columns = snap["triptych"], snap["images"], list(snap["columns"])
        assert grid.shape == (16, 3, 28, 28, 1) and grid.dtype == np.uint8
        assert columns == ["source", "output", "target"]
        np.testing.assert_array_equal(grid[:, 0], triptych.display(source, (28, 28, 1)))
        np.testing.assert_array_equal(grid[:, 1], images)
        np.testing.assert_array_equal(grid[:, 2], triptych.display(target, (28, 28, 1)))


@pytest.mark.parametrize("kept,noise", [(True, "dropout kept on at inference"), (False, "")])
def test_inference_noise_is_declared_from_the_dropout_option(kept, noise):
    c = kgan.config.from_dict({"model": {"name": "pix2pix", "width": 4, "options": {"dropout_at_inference": kept}},
                               "data": {"transform": "edges"}})
    assert kgan.models.build_gan(c).inference_noise == noise


def test_adversarial_weight_zero_is_l1_only_without_a_discriminator():
    """The L1-only baseline: no discriminator at all (nothing built, updated or logged for it), and the
    generator's loss is exactly lambda * L1."""
    model_cfg = cfg("edges", limit=64).replace(**{"model.options": {"adversarial_weight": 0, "l1": 50.0,
                                                                    "dropout": 0.0}})
    model = kgan.models.build_gan(model_cfg)
    assert list(model.networks()) == ["generator"] and list(model.GROUPS) == ["generator"]
    model.compile(optimizers={"generator": "adam"})
    g_before = [w.copy() for w in model.generator.get_weights()]
    data = feature_arrays(model_cfg.data, 8)
    batch = {k: tf.constant(v) for k, v in data.items()}
    out = model.generator(batch["source"], training=True)  # dropout 0: the step's own pass is the same
    expected = 50.0 * float(np.abs(np.asarray(out) - data["target"]).mean())
    logs = model.train_step(batch)
    assert float(logs["g_loss"]) == pytest.approx(expected, rel=1e-5)
    assert sorted(logs) == ["g_loss", "l1", "nonfinite"]  # no d_loss / d_real / d_fake pinned at 0
    assert any(not np.array_equal(a, b) for a, b in zip(g_before, model.generator.get_weights()))
    restored = type(model).from_config(model.get_config())
    assert list(restored.networks()) == ["generator"] and restored.adversarial_weight == 0
    with pytest.raises(ConfigError, match=r"model.options.adversarial_weight: expected a number >= 0"):
        cfg("edges").replace(**{"model.options": {"adversarial_weight": -1}})
