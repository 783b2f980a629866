"""Augmentation of critic inputs (`train.augment`): DiffAugment and ADA ops, ADA's p, the engine's one
augmentation point for every model with a critic, and the overfitting signal (training vs held-out reals)."""

import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
from kgan.augment import layer, ops, policy
from kgan.errors import ConfigError



def tiny(model="dcgan", **over):
    base = {"name": "aug", "seed": 3, "model": {"name": "dcgan", "latent_dim": 8, "width": 4},
            "data": {"source": "mnist", "limit": 64, "batch_size": 8},
            "train": {"steps": 2, "checkpoint_every": 2, "snapshot_every": 2, "log_every": 2, "ema": 0.0}}
    return kgan.config.from_dict(base).replace(**{"model.name": model, **over})


def compiled(cfg):
    from kgan.models.registry import build_gan, optimizers_for

    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    return model


def digits(n=4, seed=0):
    return tf.constant(np.random.default_rng(seed).uniform(-1, 1, (n, 12, 12, 1)).astype("float32"))


# ----- the policy (TensorFlow-free) ------------------------------------------------------------------------------
def test_policy_parses_ops_in_application_order_and_names_the_key():
    assert policy.parse("") is None
    assert policy.parse("diffaugment") == policy.Policy("diffaugment", ("color", "translation", "cutout"))
    assert policy.parse("diffaugment:cutout,color").ops == ("color", "cutout")
    assert policy.parse("ada:scale,xflip").ops == ("xflip", "scale")
    for bad in ("diffaug", "diffaugment:rotate90", "ada:xflip,xflip", "ada:"):
        with pytest.raises(ConfigError, match="train.augment"):
            tiny(**{"train.augment": bad})
    with pytest.raises(ConfigError, match="train.ada_target"):
        tiny(**{"train.augment": "ada", "train.ada_target": 1.5})


# ----- the ops -----------------------------------------------------------------------------------------------------
def test_geometry_moves_pixels_exactly():
    x = digits(2)
    shifted = ops.resample(x, ops.geometry(translation=tf.constant([[2 / 12, 0.0], [0.0, 2 / 12]]), batch=2))
    np.testing.assert_allclose(shifted[0, :, 1:], x[0, :, :-1], atol=1e-5)  # one pixel right, zeros come in
    np.testing.assert_allclose(shifted[0, :, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(shifted[1, 1:], x[1, :-1], atol=1e-5)  # one pixel down
    turned = ops.resample(x, ops.geometry(quarter_turns=tf.constant([1, 2]), batch=2))
    np.testing.assert_allclose(turned[0, ..., 0], np.rot90(x[0, ..., 0], 1), atol=1e-5)
    np.testing.assert_allclose(turned[1, ..., 0], np.rot90(x[1, ..., 0], 2), atol=1e-5)
    flipped = ops.resample(x, ops.geometry(flip=tf.constant([1.0, 0.0]), batch=2))
    np.testing.assert_allclose(flipped[0], x[0, :, ::-1], atol=1e-5)
    np.testing.assert_allclose(flipped[1], x[1], atol=1e-5)


@pytest.mark.parametrize("kind", ["diffaugment", "ada"])
def test_every_op_is_differentiable_and_the_same_for_a_seed(kind):
    """Gradients reach the input through every op; two models with one seed draw the same augmentations, and the
    pair of a conditional critic's input is transformed alike (labels pass through)."""
    def augmented(seed):
        model = compiled(tiny(seed=seed, **{"train.augment": kind}))
        if kind == "ada":
            model.augmentation.p.assign(1.0)  # every op on every example
        x = digits(6)
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model.augmentation.augment({"source": x, "image": x, "label": tf.range(6)}, model)
            loss = tf.reduce_sum(out["image"] * tf.reshape(tf.linspace(0.5, 1.5, 144), (1, 12, 12, 1)))
        return out, tape.gradient(loss, x).numpy(), x

    out, grad, x = augmented(3)
    np.testing.assert_array_equal(out["source"], out["image"])  # one draw for the whole input
    np.testing.assert_array_equal(out["label"], np.arange(6))
    assert not np.allclose(out["image"], x)
    assert np.all(np.isfinite(grad)) and np.count_nonzero(grad) > grad.size // 4
    again, grad_again, _ = augmented(3)
    np.testing.assert_array_equal(out["image"], again["image"])
    np.testing.assert_array_equal(grad, grad_again)
    other, _, _ = augmented(4)
    assert not np.allclose(out["image"], other["image"])


def test_ada_with_p_zero_is_the_identity():
    model = compiled(tiny(**{"train.augment": "ada"}))
    x = digits()
    np.testing.assert_allclose(model.augmentation.augment(x, model), x, atol=1e-5)


# ----- ADA's p -----------------------------------------------------------------------------------------------------
def test_ada_p_rises_above_the_target_falls_below_it_and_stays_in_0_1():
    ada = layer.build("ada", target=0.6, interval=2, images=40)
    logits = {"above": tf.constant([[3.0], [2.0], [1.0], [0.5]]),  # E[sign] = 1 > 0.6: the critic is too sure
              "below": tf.constant([[3.0], [2.0], [1.0], [-1.0]])}  # E[sign] = 0.5 < 0.6

    def steps(kind, n, start, boundary=0.0):
        for step in range(start, start + n):
            ada.observe(logits[kind], boundary)
            ada.end_step(tf.constant(step, tf.int64))
        return float(ada.p.numpy())

    assert steps("above", 1, 1) == 0.0  # adjusted only every `interval` steps
    assert steps("above", 1, 2) == pytest.approx(8 / 40)  # 8 real images seen over 40: +0.2
    assert float(ada.rt.numpy()) == 1.0
    assert steps("above", 20, 3) == 1.0  # clipped
    assert steps("below", 2, 23) == pytest.approx(0.8)
    assert float(ada.rt.numpy()) == 0.5
    assert steps("below", 20, 25) == 0.0
    # about least squares' boundary 0.5 the "above" outputs read E[sign] = (1 + 1 + 1 + 0) / 4 = 0.75
    assert steps("above", 2, 45, boundary=0.5) == pytest.approx(0.2) and float(ada.rt.numpy()) == 0.75


def test_a_skipped_step_puts_ada_state_back():
    model = compiled(tiny(**{"train.augment": "ada", "train.ada_interval": 1, "train.ada_images": 16}))
    model.augmentation.p.assign(0.5)
    model.train_step({"image": tf.random.uniform((8, 28, 28, 1), -1.0, 1.0, seed=1)})
    p = float(model.augmentation.p.numpy())
    assert p == pytest.approx(0.5 + 0.5 * np.sign(float(model.augmentation.rt.numpy()) - 0.6))  # moved by 8 / 16
    model.train_step({"image": tf.fill((8, 28, 28, 1), np.nan)})
    assert int(model.steps_done.numpy()) == 1 and int(model.batches_seen.numpy()) == 2
    assert float(model.augmentation.p.numpy()) == p and float(model.augmentation.seen.numpy()) == 0.0


# ----- one augmentation point for every model with a critic ---------------------------------------------------
MODELS = {
    "dcgan": ({}, {"image": (8, 28, 28, 1)}),
    "pix2pix": ({"data.transform": "edges", "model.options": {"patch_depth": 1}},
                {"source": (8, 28, 28, 1), "target": (8, 28, 28, 1), "image": (8, 28, 28, 1)}),
    "srgan": ({"data.transform": "downsample:2", "model.options": {"blocks": 1, "perceptual": "random:1"},
               "train.gradient_penalty": 1.0}, {"source": (8, 14, 14, 1), "target": (8, 28, 28, 1),
                                                 "image": (8, 28, 28, 1)}),
    "cyclegan": ({"data.source": "unpaired:mnist,mnist+thick", "model.options": {"blocks": 1}},
                 {"image_a": (8, 28, 28, 1), "image": (8, 28, 28, 1)}),
}
# critic passes in one step (critic update; generator update): (all, on real data)
PASSES = {"dcgan": (3, 1), "pix2pix": (3, 1), "srgan": (4, 1), "cyclegan": (6, 2)}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_critic_pass_of_every_family_goes_through_the_augmentation(name):
    over, shapes = MODELS[name]
    model = compiled(tiny(name, **{"train.augment": "ada", **over}))
    calls = []
    augment = model.augmentation.augment
    model.augmentation.augment = lambda inputs, rng: calls.append(inputs) or augment(inputs, rng)
    observe = model.augmentation.observe
    observed = []
    model.augmentation.observe = lambda logits, boundary: observed.append(boundary) or observe(logits, boundary)
    rng = np.random.default_rng(0)
    batch = {k: tf.constant(rng.uniform(-1, 1, s).astype("float32")) for k, s in shapes.items()}
    logs = model.train_step(batch)
    assert (len(calls), len(observed)) == PASSES[name]
    assert set(observed) == {0.5 if name == "cyclegan" else 0.0}  # least squares: the boundary at 0.5
    assert float(model.augmentation.seen.numpy()) == 8 * PASSES[name][1]
    assert {"ada_p", "ada_rt"} <= set(logs)
    scores = model.real_critic_scores(batch)
    assert sorted(scores) == (["d_a", "d_b"] if name == "cyclegan" else ["d"])
    assert len(calls) == PASSES[name][0]  # inference-mode scores are not augmented


# ----- runs: p in the history and the checkpoint, the overfitting signal -----------------------------------------
class Track(keras.callbacks.Callback):
    """(p, r_t) after every step; `start` sets p before the first (so that p is away from 0 and 1)."""

    def __init__(self, start=None):
        super().__init__()
        self.start, self.points = start, []

    def on_train_begin(self, logs=None):
        if self.start is not None:
            self.model.augmentation.p.assign(self.start)

    def on_train_batch_end(self, batch, logs=None):
        ada = self.model.augmentation
        self.points.append((float(ada.p.numpy()), float(ada.rt.numpy())))


MOVE = 8 / 128  # real images per step / train.ada_images: every step moves p by this, up or down


@pytest.fixture(scope="module")
def ada_run(tmp_path_factory):
    from kgan.training import train

    cfg = tiny(**{"train.augment": "ada", "train.ada_interval": 1, "train.ada_images": 128, "data.holdout": 0.25,
                  "train.steps": 4, "train.checkpoint_every": 2})
    run = tmp_path_factory.mktemp("ada") / "run"
    track = Track(start=0.4)
    train(cfg, run, verbose=False, callbacks=[track])
    return {"run": run, "cfg": cfg, "points": track.points}


def test_history_holds_p_and_the_training_vs_held_out_critic_outputs(ada_run):
    with open(ada_run["run"] / "logs" / "history.csv") as f:
        rows = list(csv.DictReader(f))
    assert [int(r["step"]) for r in rows] == [2, 4]
    for row in rows:
        train, held, gap = (float(row[c]) for c in ("d_real_train", "d_real_holdout", "d_real_gap"))
        assert gap == pytest.approx(train - held) and train != held
    # logged values are means over the log window, like every other column
    assert float(rows[1]["ada_p"]) == pytest.approx(np.mean([p for p, _ in ada_run["points"][2:4]]))


def test_a_resumed_run_keeps_p(ada_run, tmp_path):
    import shutil

    from kgan.training import load_run, train

    run = tmp_path / "run"
    shutil.copytree(ada_run["run"], run)
    _, model, step = load_run(run)
    assert step == 4 and float(model.augmentation.p.numpy()) == ada_run["points"][-1][0]
    track = Track()
    train(ada_run["cfg"].replace(**{"train.steps": 6}), run, verbose=False, callbacks=[track])
    p = 0.4
    for after, rt in ada_run["points"] + track.points:  # every step, across the resume, from the p before it
        assert after == pytest.approx(p + np.sign(rt - 0.6) * MOVE)
        p = after
    assert len(track.points) == 2


def test_gallery_plots_the_overfitting_signal_and_p(ada_run):
    from kgan.gallery.plots import group_columns, read_history

    groups = {slug: cols for slug, _, cols in group_columns(read_history(ada_run["run"] / "logs" / "history.csv"))}
    assert groups["overfitting"] == ["d_real_train", "d_real_holdout", "d_real_gap"]
    assert groups["augmentation"] == ["ada_p", "ada_rt"]
