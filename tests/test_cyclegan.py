"""CycleGAN and unpaired data: the loss terms against hand computation, the image pool, instance normalization,
the unpaired source and its domains, the linear learning-rate decay, a short run (every network trained, resume,
cycle snapshots) and an export serving both directions in a process without kgan."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
from kgan import phases
from kgan.data import load_arrays, unpaired
from kgan.data.features import feature_arrays
from kgan.errors import ConfigError, DataError
from kgan.models.cyclegan import two_way_l1
from kgan.models.image_pool import ImagePool
from kgan.nets.translator import resnet_translator


def cfg(source="unpaired:mnist,mnist+thick", **over):
    base = {"name": "cg", "seed": 0, "model": {"name": "cyclegan", "width": 4, "options": {"blocks": 1}},
            "data": {"source": source, "limit": 96, "batch_size": 4, "holdout": 0.25},
            "train": {"steps": 2, "checkpoint_every": 2, "snapshot_every": 2, "log_every": 2, "ema": 0.0}}
    return kgan.config.from_dict(base).replace(**over)


def test_cycle_and_identity_terms_match_hand_computation():
    a = np.array([[0.0, 1.0], [-1.0, 0.5]], np.float32)
    a2 = np.array([[0.5, 1.0], [-1.0, -0.5]], np.float32)  # |diff| = .5, 0, 0, 1 -> mean .375
    b = np.zeros((2, 2), np.float32)
    b2 = np.full((2, 2), -0.25, np.float32)  # mean .25
    assert float(two_way_l1(a, a2, b, b2)) == pytest.approx(0.625)
    # through the model's terms: generators that return their input make both terms exactly 0, and the
    # weights are the paper's lambda = 10 and 0.5 lambda
    from kgan.models.registry import build_gan
    from kgan.models.terms import StepContext

    model = build_gan(cfg())
    weights = {t.name: t.weight for t in model.loss_terms()}
    assert weights == {"d_adv": 1.0, "g_adv": 1.0, "cycle": 10.0, "identity": 5.0}
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    y = np.random.default_rng(1).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    def adding(value):
        inputs = keras.Input((28, 28, 1))
        return keras.Model(inputs, keras.layers.Lambda(lambda t: t + value)(inputs))

    model.g_ab, model.g_ba = adding(0.0), adding(0.0)
    ctx = StepContext(model, {"image_a": x, "image": y}, model.forward({"image_a": x, "image": y}, False), 0)
    terms = {t.name: t for t in model.loss_terms()}
    assert float(terms["cycle"].fn(ctx)) == 0.0 and float(terms["identity"].fn(ctx)) == 0.0
    # generators that add 0.1 everywhere: cycle error 0.2 per direction, identity error 0.1 per direction
    model.g_ab, model.g_ba = adding(0.1), adding(0.1)
    ctx = StepContext(model, {"image_a": x, "image": y}, model.forward({"image_a": x, "image": y}, False), 0)
    assert float(terms["cycle"].fn(ctx)) == pytest.approx(0.4, abs=1e-5)
    assert float(terms["identity"].fn(ctx)) == pytest.approx(0.2, abs=1e-5)
    assert float(terms["cycle"].evaluate(ctx, 10.0)[0]) == pytest.approx(4.0, abs=1e-4)


def test_image_pool_fills_then_returns_stored_fakes_half_the_time_and_never_grows():
    pool = ImagePool(6, (1,))
    rng = np.random.default_rng(0)
    first = np.arange(4, dtype="float32")[:, None]
    out = pool.query(first, tf.constant(rng.uniform(size=4), tf.float32), tf.constant(rng.uniform(size=4), tf.float32))
    np.testing.assert_array_equal(out, first)  # free slots: each fake is stored and shown as it is
    assert int(pool.filled.numpy()) == 4
    stored_shown, total = 0, 0
    for step in range(200):
        fakes = (100.0 + step * 10 + np.arange(4, dtype="float32"))[:, None]  # never seen before
        held = set(pool.images.numpy()[: int(pool.filled.numpy()), 0].tolist())
        out = pool.query(fakes, tf.constant(rng.uniform(size=4), tf.float32),
                         tf.constant(rng.uniform(size=4), tf.float32)).numpy()[:, 0]
        assert int(pool.filled.numpy()) <= 6 and pool.images.shape[0] == 6
        if step == 0:  # two free slots left: the first two fakes fill them
            np.testing.assert_array_equal(out[:2], fakes[:2, 0])
            continue
        for value, fake in zip(out, fakes[:, 0]):
            assert value == fake or value in held  # a fake, or an image the pool held
            stored_shown += value != fake
            total += 1
    assert 0.42 < stored_shown / total < 0.58  # probability 1/2 once the pool is full
    assert ImagePool(0, (1,)).query(first, tf.zeros(4), tf.zeros(4)).numpy().tolist() == first.tolist()


def test_instance_norm_normalizes_per_example_and_channel():
    net = resnet_translator((8, 8, 3), width=4, blocks=1)
    norms = [layer for layer in net.layers if isinstance(layer, keras.layers.GroupNormalization)]
    assert norms and all(layer.groups == layer.input.shape[-1] for layer in norms)  # groups=-1: one per channel
    x = np.random.default_rng(0).normal(3.0, 5.0, (2, 8, 8, 4)).astype("float32")
    x[1] *= 10  # another example's statistics must not leak
    y = np.asarray(norms[0](x))
    np.testing.assert_allclose(y.mean(axis=(1, 2)), 0.0, atol=1e-4)
    np.testing.assert_allclose(y.std(axis=(1, 2)), 1.0, atol=1e-2)


def test_resnet_translator_shape_and_reflection_padding():
    net = resnet_translator((28, 28, 1), width=4, blocks=2)
    assert net.output_shape == (None, 28, 28, 1)
    assert sum(isinstance(layer, keras.layers.Add) for layer in net.layers) == 2
    from kgan.layers import ReflectionPad2D

    x = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(np.asarray(ReflectionPad2D(1)(x))[0, :, :, 0][0], [4, 3, 4, 5, 4])
    with pytest.raises(ValueError, match="divisible by 4"):
        resnet_translator((30, 30, 1))


def test_unpaired_source_splits_one_source_into_disjoint_domains_with_labels():
    images, labels = load_arrays("mnist", limit=40)
    b_images, b_labels = load_arrays("unpaired:mnist,mnist", limit=20)  # domain B: the odd positions
    np.testing.assert_array_equal(b_images, images[1::2])
    np.testing.assert_array_equal(b_labels, labels[1::2])
    c = cfg(source="unpaired:mnist,mnist", **{"data.holdout": 0.0, "data.limit": 20})
    features = feature_arrays(c.data, 20)
    to_uint8 = lambda x: np.round((x + 1) * 127.5).astype(np.uint8)  # noqa: E731
    np.testing.assert_array_equal(to_uint8(features["image_a"]), images[0:40:2])
    np.testing.assert_array_equal(features["label_a"], labels[0:40:2])
    np.testing.assert_array_equal(features["label"], labels[1:40:2])


def test_unpaired_domains_of_different_sizes_keep_every_example_in_the_shards(tiny_digits, tmp_path):
    """Domains of 50 and 30 MNIST digits: 50 examples, domain B cycled; the prepared records hold both domains
    (every example of each, the card lists the features) and give the source's very named batches."""
    from kgan.data import shards
    from kgan.prepare import prepare_dataset, prepared_data_config

    from conftest import assert_same_named_batches

    images, labels = tiny_digits["images"][..., 0], tiny_digits["labels"]
    np.savez(tmp_path / "a.npz", x=images[:50], y=labels[:50])
    np.savez(tmp_path / "b.npz", x=images[50:80], y=labels[50:80])
    source = f"unpaired:npz:{tmp_path / 'a.npz'},npz:{tmp_path / 'b.npz'}+invert"
    _, b_labels = load_arrays(source)
    np.testing.assert_array_equal(b_labels, np.resize(labels[50:80], 50))
    data = cfg(source, **{"data.limit": 0, "data.holdout": 0.2, "data.shuffle_buffer": 16}).data
    card = prepare_dataset(data, tmp_path / "prepared")
    assert card["count"] == 50 and card["features"] == {"image": [28, 28, 1], "image_a": [28, 28, 1]}
    rows = sorted(shards.records(tmp_path / "prepared").as_numpy_iterator(), key=lambda r: r["index"])
    np.testing.assert_array_equal(np.stack([r["image_a"][..., 0] for r in rows]), images[:50])
    np.testing.assert_array_equal([r["label_a"] for r in rows], labels[:50])
    b_images = np.stack([255 - r["image"][..., 0] for r in rows])  # +invert undone
    np.testing.assert_array_equal(b_images, np.resize(images[50:80], (50, 28, 28)))
    trained_on = prepared_data_config(data, tmp_path / "prepared")
    assert_same_named_batches(data, trained_on)
    assert_same_named_batches(data, trained_on, batches=2, split="holdout")


def test_domains_thicken_and_invert_the_strokes():
    images, _ = load_arrays("unpaired:mnist,mnist", limit=10)
    thick, _ = load_arrays("unpaired:mnist,mnist+thick", limit=10)
    inverted, _ = load_arrays("unpaired:mnist,mnist+invert", limit=10)
    np.testing.assert_array_equal(inverted, 255 - images)
    padded = np.pad(images[..., 0], ((0, 0), (1, 1), (1, 1)))
    dilated = np.max([padded[:, i:i + 28, j:j + 28] for i in range(3) for j in range(3)], axis=0)
    np.testing.assert_array_equal(thick[..., 0], dilated)
    assert (thick > 127).sum() > 1.5 * (images > 127).sum()


def test_no_cycle_baseline_is_the_gan_alone_ablation():
    from kgan.models.registry import baseline_config, build_gan

    shipped = kgan.config.load_config("mnist_cyclegan_thick")
    assert shipped.eval.baselines == ["no_cycle"]
    _, ablation = baseline_config(shipped, "no_cycle")
    model = build_gan(ablation.replace(**{"model.width": 4, "model.options.blocks": 1}))
    assert [t.name for t in model.loss_terms()] == ["d_adv", "g_adv"]  # no cycle, no identity: not even logged
    assert model.GROUPS == {"critics": ("d_a", "d_b"), "generators": ("g_ab", "g_ba")}


def test_unpaired_errors_name_the_key(tmp_path):
    with pytest.raises(ConfigError, match="data.source: .*two sources separated by one comma"):
        cfg(source="unpaired:mnist")
    with pytest.raises(ConfigError, match="data.transform: an unpaired source"):
        cfg(**{"data.transform": "edges"})
    with pytest.raises(ConfigError, match="data.source: cyclegan learns from two unpaired domains"):
        cfg(source="mnist")
    with pytest.raises(ConfigError, match="data.transform: pix2pix"):
        cfg(**{"model.name": "pix2pix", "model.options": {}})
    with pytest.raises(ConfigError, match="model.options.pool_size: expected an int"):
        cfg(**{"model.options": {"pool_size": -1}})
    with pytest.raises(ConfigError, match="train.phases\\[0\\].decay: 'cosine' is not allowed"):
        cfg(**{"train.phases": [{"steps": 2, "decay": "cosine"}]})
    # sizes that preprocessing may not reconcile (data.resize = "none") fail in one line naming both
    (tmp_path / "big").mkdir()
    keras.utils.save_img(tmp_path / "big" / "x.png", np.zeros((32, 32, 1), np.uint8), scale=False)
    from kgan.data import make_dataset

    bad = cfg(source=f"unpaired:folder:{tmp_path / 'big'},mnist", **{"data.resize": "none", "data.batch_size": 1,
                                                                        "data.holdout": 0.0})
    with pytest.raises(DataError, match="32x32x1 .* data.resolution = 28 and data.resize = 'none'"):
        make_dataset(bad.data, named=True)
    # ... and are reconciled by padding: a 32 px RGB folder against 28 px MNIST, at 28 px and 3 channels
    keras.utils.save_img(tmp_path / "big" / "x.png", np.full((32, 32, 3), 200, np.uint8), scale=False)
    ok = bad.replace(**{"data.resize": "resize", "data.channels": 3})
    batch = next(iter(make_dataset(ok.data, named=True)))
    assert batch["image_a"].shape == batch["image"].shape == (1, 28, 28, 3)


def test_linear_decay_phase_lowers_the_rate_to_zero_at_its_end():
    c = cfg(**{"train.steps": 20, "train.phases": [{"name": "constant", "steps": 10},
                                                   {"name": "decay", "steps": 10, "decay": "linear"}]})
    constant, decay = phases.plan(c)
    base = {"critics": 2e-4, "generators": 2e-4}
    assert constant.learning_rates(base, 5) == base
    assert decay.learning_rates(base, 10) == base
    assert decay.learning_rates(base, 15)["generators"] == pytest.approx(1e-4)
    assert decay.learning_rates(base, 19)["critics"] == pytest.approx(2e-5)  # the last update: 1/10 of the rate
    assert decay.learning_rates(base, 20)["critics"] == 0.0


@pytest.fixture(scope="module")
def cg_run(tmp_path_factory):
    """A tiny cyclegan run with a decaying phase, trained to step 2 and resumed to step 4."""
    import kgan.training
    from kgan.training import load_run

    c = cfg(**{"train.steps": 4, "train.phases": [{"name": "constant", "steps": 2},
                                                  {"name": "decay", "steps": 2, "decay": "linear"}]})
    run = tmp_path_factory.mktemp("cg") / "run"
    from kgan.models.registry import build_gan

    initial = {name: [w.copy() for w in net.get_weights()] for name, net in build_gan(c).networks().items()}
    first = c.replace(**{"train.steps": 2, "train.phases": [{"name": "constant", "steps": 2}]})
    kgan.training.train(first, run, verbose=False)
    _, gan, step = load_run(run)
    pool = gan.pool_b.images.numpy().copy(), int(gan.pool_b.filled.numpy())
    (run / "config.toml").write_text(kgan.config.dump_toml(c))
    kgan.training.train(c, run, verbose=False)
    return {"run": run, "cfg": c, "initial": initial, "step_after_first": step, "pool_after_first": pool}


def test_training_changes_all_four_networks_and_resumes_with_the_pools(cg_run):
    from kgan.training import load_run

    _, gan, step = load_run(cg_run["run"])
    assert cg_run["step_after_first"] == 2 and step == 4
    for name, net in gan.networks().items():
        assert any(not np.array_equal(a, b) for a, b in zip(cg_run["initial"][name], net.get_weights())), name
    images, filled = cg_run["pool_after_first"]
    assert filled == 8  # two steps of 4 fakes
    assert int(gan.pool_b.filled.numpy()) == 16  # the resumed run continued the checkpointed pool
    info = json.loads((cg_run["run"] / "run.json").read_text())
    assert info["loss_weights"] == {"d_adv": 1.0, "g_adv": 1.0, "cycle": 10.0, "identity": 5.0}
    assert info["hparams"]["pool_size"] == 50 and [d["name"] for d in info["directions"]] == ["a_to_b", "b_to_a"]
    assert info["optimizers"]["generators"]["learning_rate"] == 0.0  # the decay phase ended at 0
    history = (cg_run["run"] / "logs" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"d_loss", "g_loss", "g_adv", "cycle", "identity", "d_a_real", "d_b_fake"} <= set(history)


def test_a_skipped_step_leaves_the_pools_as_they_were():
    """A non-finite step changes nothing but batches_seen: the fakes it made do not enter the pools."""
    from kgan.models.registry import build_gan, optimizers_for

    c = cfg()
    model = build_gan(c)
    model.compile(optimizers=optimizers_for(c, model))
    rng = np.random.default_rng(0)
    batch = {k: tf.constant(rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32")) for k in ("image_a", "image")}
    model.train_step(batch)
    pools = [*model.pool_a.variables, *model.pool_b.variables]
    before = [v.numpy().copy() for v in pools]
    assert int(model.pool_a.filled.numpy()) == 4
    poisoned = dict(batch, image_a=tf.constant(np.full((4, 28, 28, 1), np.nan, np.float32)))
    model.train_step(poisoned)
    assert int(model.steps_done.numpy()) == 1 and int(model.batches_seen.numpy()) == 2
    assert len(pools) == 4
    for a, b in zip(before, pools):
        np.testing.assert_array_equal(a, b.numpy())


def test_snapshots_show_a_to_b_to_a_and_b_to_a_to_b_rows(cg_run):
    from kgan.training import load_run

    run, c = cg_run["run"], cg_run["cfg"]
    _, gan, _ = load_run(run)
    with np.load(run / "snapshots" / "fixed_inputs.npz") as f:
        fixed = {k: f[k] for k in f.files}
    held = feature_arrays(c.data, 64, seed=c.seed, split="holdout")
    np.testing.assert_array_equal(fixed["image_a"], held["image_a"])
    np.testing.assert_array_equal(fixed["image_b"], held["image"])
    with np.load(run / "snapshots" / "step_0000004.npz") as snap:
        grid, columns = snap["triptych"], list(snap["columns"])
    n = len(fixed["image_a"])
    assert grid.shape == (2 * n, 3, 28, 28, 1) and columns == ["input", "translated", "translated back"]
    from kgan.imageio import to_uint8

    a_to_b = np.asarray(gan.g_ab(fixed["image_a"]))
    np.testing.assert_array_equal(grid[0::2, 0], to_uint8(fixed["image_a"]))
    np.testing.assert_array_equal(grid[0::2, 1], to_uint8(a_to_b))
    np.testing.assert_array_equal(grid[0::2, 2], to_uint8(np.asarray(gan.g_ba(a_to_b))))
    np.testing.assert_array_equal(grid[1::2, 0], to_uint8(fixed["image_b"]))
    np.testing.assert_array_equal(grid[1::2, 1], to_uint8(np.asarray(gan.g_ba(fixed["image_b"]))))


LOADER = textwrap.dedent("""
    import sys
    for blocked in ("kgan", "keras", "tf_keras"):
        sys.modules[blocked] = None
    import numpy as np
    import tensorflow as tf

    m = tf.saved_model.load(sys.argv[1])
    a, b = np.load(sys.argv[2]), np.load(sys.argv[3])
    out = {"signatures": np.array(sorted(m.signatures))}
    for name, key, x in (("serving_default", "image_a", a), ("a_to_b", "image_a", a), ("b_to_a", "image_b", b)):
        out[name] = m.signatures[name](**{key: tf.constant(x)})["images"].numpy()
    out["b_to_a_float"] = m.signatures["b_to_a_float"](image_b=tf.constant(b / 127.5 - 1, tf.float32))["images"].numpy()
    try:
        m.signatures["b_to_a"](image_b=tf.constant(np.zeros((1, 28, 28, 3), np.uint8)))
        out["bad"] = np.array("accepted")
    except tf.errors.InvalidArgumentError as e:
        out["bad"] = np.array(str(e.message))
    out["meta"] = np.array(m.signatures["metadata"]()["json"].numpy().decode())
    imported = [n for n, mod in sys.modules.items() if mod is not None and n.split(".")[0] in ("kgan", "keras")]
    assert not imported, imported
    np.savez(sys.argv[-1], **out)
""")


def test_export_serves_both_directions_in_a_process_without_kgan(cg_run, tmp_path):
    from kgan.export import export_run
    from kgan.export.served import ServedModel
    from kgan.imageio import to_uint8
    from kgan.training import load_run

    version = export_run(cg_run["run"], "cg", tmp_path / "models", warmup_requests=1)
    _, gan, _ = load_run(cg_run["run"])
    rows = feature_arrays(cg_run["cfg"].data, 3, split="holdout")
    a, b = to_uint8(rows["image_a"]), to_uint8(rows["image"])
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    script = tmp_path / "load.py"
    script.write_text(LOADER)
    proc = subprocess.run([sys.executable, str(script), str(version), str(tmp_path / "a.npy"), str(tmp_path / "b.npy"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    assert {"serving_default", "serving_float", "a_to_b", "a_to_b_float", "b_to_a", "b_to_a_float",
            "metadata"} == set(out["signatures"].tolist())
    expected_ab = to_uint8(np.asarray(gan.g_ab(a / 127.5 - 1.0)))
    expected_ba = to_uint8(np.asarray(gan.g_ba(b / 127.5 - 1.0)))
    for name, expected in (("serving_default", expected_ab), ("a_to_b", expected_ab), ("b_to_a", expected_ba),
                           ("b_to_a_float", expected_ba)):
        assert np.abs(out[name].astype(int) - expected.astype(int)).max() <= 1, name  # rounding ties only
    assert not np.array_equal(out["a_to_b"], out["b_to_a"])
    assert "image_b: expected uint8 0..255 images shaped [batch, 28, 28, 1]" in str(out["bad"])
    meta = json.loads(str(out["meta"]))
    assert [(d["name"], d["inverse"], d["inputs"][0]["name"]) for d in meta["directions"]] == [
        ("a_to_b", "b_to_a", "image_a"), ("b_to_a", "a_to_b", "image_b")]
    served = ServedModel(version, direction="b_to_a")  # kgan's own reader picks a direction by name
    assert [s.name for s in served.specs] == ["image_b"]
    assert np.abs(served.images({"image_b": b / 127.5 - 1.0}).astype(int) - expected_ba.astype(int)).max() <= 1
    with pytest.raises(Exception, match="serves no direction 'c_to_d'"):
        ServedModel(version, direction="c_to_d")


def test_shipped_cyclegan_pipeline_runs_end_to_end(tmp_path):
    """pipelines/mnist_cyclegan_thick.toml, shortened: train (both phases), export both directions, evaluate G(a)
    against domain B with the untranslated digits and the no-cycle ablation as reference points, gallery."""
    from conftest import cli

    shipped = kgan.config.load_config("mnist_cyclegan_thick")
    small = shipped.replace(**{
        "data.limit": 240, "data.batch_size": 4, "model.width": 4, "model.options.blocks": 1, "train.steps": 4,
        "train.phases": [{"name": "constant", "steps": 2}, {"name": "decay", "steps": 2, "decay": "linear"}],
        "train.log_every": 2, "train.checkpoint_every": 2, "train.snapshot_every": 2, "eval.num_samples": 16,
        "eval.classifier_epochs": 1, "eval.history_every": 0,
        "eval.baselines": []})  # the no_cycle baseline would train and evaluate a second model: see below
    config = tmp_path / "cg.toml"
    config.write_text(kgan.config.dump_toml(small))
    r = cli("pipeline", str(config), "--root", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = {l.split()[0]: l.split()[-1] for l in r.stdout.splitlines() if l.startswith("  ")}
    report = json.loads(open(summary["metrics_report"]).read())
    assert set(report["metrics"]) == {"fid", "kid", "content_accuracy"}
    assert report["metrics"]["content_accuracy"]["num_labelled"] == 16
    points = report["reference_points"]
    assert set(points) == {"real_vs_real", "pixel_gaussian", "identity"}
    assert 0.0 <= points["identity"]["metrics"]["content_accuracy"]["accuracy"] <= 1.0
    assert points["real_vs_real"]["metrics"]["content_accuracy"] == {}  # translated from nothing
    signatures = tf.saved_model.load(summary["saved_model"]).signatures
    assert {"a_to_b", "b_to_a", "serving_default"} <= set(signatures)
    page = (tmp_path / "out" / "mnist_cyclegan_thick").glob("gallery-*/index.html")
    html = next(page).read_text()
    assert "pool_size 50" in html and "cycle 10.0" in html and "translated back" in html
    trained = kgan.config.load_config(str(Path(summary["run_dir"]) / "config.toml"))
    assert trained.data.source.startswith("shards:")  # both domains from the prepared records


def test_random_crops_cut_both_domains_and_keep_their_labels(tmp_path):
    from kgan.data import make_dataset

    for side in ("a", "b"):
        (tmp_path / side).mkdir()
        for i in range(2):
            keras.utils.save_img(tmp_path / side / f"{i}.png", np.full((40, 36, 3), 50 + 100 * i, np.uint8), scale=False)
    c = cfg(source=f"unpaired:folder:{tmp_path / 'a'},folder:{tmp_path / 'b'}",
            **{"data.resize": "crop", "data.batch_size": 2, "data.holdout": 0.0, "data.channels": 3})
    batch = next(iter(make_dataset(c.data, named=True)))
    assert batch["image_a"].shape == batch["image"].shape == (2, 28, 28, 3)
    assert batch["label_a"].shape == batch["label"].shape == (2,)


def test_mnistm_domain_blends_digits_into_colour_texture_deterministically():
    images, _ = load_arrays("unpaired:mnist,mnist", limit=8)
    colour, _ = load_arrays("unpaired:mnist,mnist+mnistm", limit=8)
    again, _ = load_arrays("unpaired:mnist,mnist+mnistm", limit=8)
    assert colour.shape == (8, 28, 28, 3) and colour.dtype == np.uint8
    np.testing.assert_array_equal(colour, again)  # seeded by position: the same domain every time
    assert len({colour[i].tobytes() for i in range(8)}) == 8 and colour.std(axis=-1).mean() > 1  # varied, coloured
    # |patch - digit| per channel, the patch cut from matplotlib's photo at the place drawn from (0, position)
    import matplotlib.cbook
    import matplotlib.image

    photo = matplotlib.image.imread(matplotlib.cbook.get_sample_data(unpaired.TEXTURE, asfileobj=False))
    for i in (0, 5):
        patch = tf.image.stateless_random_crop(tf.constant(photo), (28, 28, 3),
                                               tf.constant([0, i], tf.int64)).numpy().astype(int)
        np.testing.assert_array_equal(colour[i], np.abs(patch - images[i].astype(int)).astype(np.uint8))


def test_unet_generator_option_serves_both_directions_without_dropout():
    from kgan.models.registry import build_gan
    from kgan.models import surface

    model = build_gan(cfg(**{"model.options": {"generator": "unet"}}))
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in model.g_ab.layers)  # deterministic
    x = np.random.default_rng(0).uniform(-1, 1, (2, 28, 28, 1)).astype("float32")
    for direction in surface.directions(model):
        name = direction.inputs[0].name
        out = np.asarray(model.infer({name: x}) if direction.name == "a_to_b" else direction.network(x))
        assert out.shape == (2, 28, 28, 1)
    np.testing.assert_array_equal(np.asarray(model.infer({"image_a": x})), np.asarray(model.infer({"image_a": x})))
