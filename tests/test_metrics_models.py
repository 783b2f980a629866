"""Extractors on real data: a classifier trained here on MNIST, a tiny Inception-like SavedModel
loaded through the real hub path, and the `kgan evaluate` command."""

import json

import numpy as np
import pytest

from conftest import cli
from kgan.config import EvalConfig
from kgan.data import load_arrays
from kgan.errors import CheckpointError
from kgan.metrics import evaluate, format_table, get_extractor, train_classifier
from kgan.metrics.classifier import MIN_ACCURACY


@pytest.fixture(scope="session")
def mnist():
    return load_arrays("mnist")


@pytest.fixture(scope="session")
def classifier(mnist, tmp_path_factory):
    """3 small-batch epochs on 2000 digits: held-out accuracy above the report's warning
    threshold (~0.93) in a few seconds."""
    x, y = mnist
    path = tmp_path_factory.mktemp("clf") / "clf.keras"
    return train_classifier(x[:2000], y[:2000], epochs=3, out_path=path, seed=0, batch_size=32)


def test_classifier_sidecar_and_mode_dropping(mnist, classifier):
    x, y = mnist
    side = json.loads(classifier.with_suffix(".json").read_text())
    assert side["holdout_size"] == 200 and side["holdout_accuracy"] >= MIN_ACCURACY
    ref, pool, pool_y = x[2000:5000], x[5000:], y[5000:]
    all_ten = pool[:1000]
    five = pool[pool_y < 5][:1000]
    kw = dict(metrics="fid,pr,coverage,is", n=1000, progress=False)
    good = evaluate(all_ten, ref, f"classifier:{classifier}", **kw)["metrics"]
    bad = evaluate(five, ref, f"classifier:{classifier}", **kw)["metrics"]
    assert bad["fid"]["value"] > 2 * good["fid"]["value"]
    assert bad["pr"]["recall"] < good["pr"]["recall"] - 0.05
    assert bad["coverage"]["coverage"] <= 0.6 < good["coverage"]["coverage"] - 0.15
    assert bad["is"]["mean"] < good["is"]["mean"]


def test_classifier_identity_is_its_weights(classifier, tmp_path):
    """The feature cache's key names the network, not the file: a copy elsewhere (new path, new file time) is the
    same extractor; the same file with one weight changed (retrained in place) is another."""
    import shutil

    import keras

    from kgan.metrics.classifier import ClassifierExtractor

    original = ClassifierExtractor(classifier)
    copy = ClassifierExtractor(shutil.copy(classifier, tmp_path / "copy.keras"))
    assert copy.identity == original.identity
    model = keras.models.load_model(classifier)
    kernel = model.get_layer("features").kernel
    kernel.assign(kernel.numpy() * 1.001)
    model.save(tmp_path / "copy.keras")
    assert ClassifierExtractor(tmp_path / "copy.keras").identity != original.identity


def test_independent_classifier_is_another_feature_space(mnist, classifier, tmp_path):
    """The second evaluator (the benchmarks judge in two feature spaces) trains through the same function and
    loads as an extractor with its own 64-d features; its sidecar names the architecture."""
    from kgan.metrics.classifier import ClassifierExtractor, build_independent_classifier

    x, y = mnist
    path = train_classifier(x[:300], y[:300], 1, tmp_path / "independent.keras", seed=1,
                            build=build_independent_classifier)
    assert json.loads(path.with_suffix(".json").read_text())["architecture"] == "independent_classifier"
    extractor = ClassifierExtractor(path)
    features, probs = extractor.run(x[:5])
    assert features.shape == (5, 64) and probs.shape == (5, 10)
    assert extractor.identity != ClassifierExtractor(classifier).identity


def test_poor_classifier_warns_in_report_and_table(mnist, classifier, tmp_path):
    x, y = mnist
    poor = train_classifier(x[:100], y[:100], epochs=1, out_path=tmp_path / "poor.keras")
    kw = dict(metrics="fid", n=100, progress=False)
    for path, expected in [(poor, ["below 0.9"]), (classifier, [])]:
        report = evaluate(x[5000:5100], x[2000:2200], f"classifier:{path}", **kw)
        table = format_table(report)
        acc = json.loads(path.with_suffix(".json").read_text())["holdout_accuracy"]
        assert f"held-out accuracy: {acc:.3f}" in table
        assert len(report["warnings"]) == len(expected) == table.count("WARNING")
        assert all(e in w for e, w in zip(expected, report["warnings"]))
    poor.with_suffix(".json").unlink()  # no sidecar: the accuracy is unknown, which also warns
    report = evaluate(x[5000:5100], x[2000:2200], f"classifier:{poor}", **kw)
    assert "accuracy unknown" in report["warnings"][0]


def _write_tiny_inception(path):
    """A SavedModel shaped like TF-GAN's Inception: [N,299,299,3] floats -> pool_3 and logits.

    pool_3 = 13x13 average pool of the input (so the test can check the resize and scaling),
    plus the input height (so it can check that 299 arrived)."""
    import tensorflow as tf

    class Tiny(tf.Module):
        def __init__(self):
            self.w = tf.Variable(np.random.default_rng(0).standard_normal((508, 5)), dtype=tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None, 299, 299, 3], tf.float32)])
        def __call__(self, images):
            pooled = tf.nn.avg_pool2d(images, 23, 23, "VALID")
            n = tf.shape(images)[0]
            height = tf.fill([n, 1], tf.cast(tf.shape(images)[1], tf.float32))
            pool_3 = tf.concat([tf.reshape(pooled, [n, -1]), height], 1)
            return {"pool_3": pool_3, "logits": pool_3 @ self.w}

    module = Tiny()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.__call__})
    return path


def test_inception_loading_tiling_resize(mnist, tmp_path):
    import tensorflow as tf

    handle = _write_tiny_inception(tmp_path / "tiny_inception")
    ext = get_extractor(f"inception:{handle}")
    assert ext.num_classes == 5 and ext.feature_dim == 508
    gray = mnist[0][:6]
    feats, probs = ext.run(gray)
    rgb = np.repeat(gray, 3, axis=-1).astype(np.float32)
    resized = tf.image.resize(rgb, [299, 299], method="bilinear", antialias=False) / 127.5 - 1
    expect = tf.reshape(tf.nn.avg_pool2d(resized, 23, 23, "VALID"), [6, -1]).numpy()
    np.testing.assert_allclose(feats[:, :-1], expect, atol=1e-5)
    assert np.all(feats[:, -1] == 299)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-6)
    report = evaluate(mnist[0][100:160], mnist[0][:60], ext, metrics="fid,is", n=60,
                      progress=False)
    assert "bilinear" in report["resize"] and "antialias=False" in report["resize"]
    assert report["extractor"]["handle"] == str(handle)
    assert np.isfinite(report["metrics"]["fid"]["value"])


def test_cli_evaluate_samples_writes_report(mnist, classifier, tmp_path):
    x, y = mnist
    np.savez(tmp_path / "data.npz", x=x[2000:2600, ..., 0], y=y[2000:2600])
    np.savez(tmp_path / "samples.npz", x=x[3000:3400, ..., 0])
    out = tmp_path / "out" / "report.json"
    proc = cli("evaluate", "--samples", f"npz:{tmp_path / 'samples.npz'}",
               "--data", f"npz:{tmp_path / 'data.npz'}", "--features",
               f"classifier:{classifier}", "--n", "300", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert set(report["metrics"]) == set(EvalConfig().metrics)  # the config's set, not all
    assert report["num_samples"] == 300 and report["num_reference"] == 600
    assert set(report["reference_points"]) == {"real_vs_real", "pixel_gaussian"}
    assert report["reference_points"]["pixel_gaussian"]["metrics"]["fid"]["value"] > \
        report["metrics"]["fid"]["value"]
    assert report["resize"].startswith("none")
    assert "FID" in proc.stdout
    assert list((out.parent / ".metrics-cache").glob("features-classifier-real-600-*.npz"))


def test_cli_user_errors_exit_2(tmp_path, classifier, capsys):
    from kgan.cli import main

    np.savez(tmp_path / "s.npz", x=np.zeros((50, 28, 28), np.uint8))
    common = ["evaluate", "--samples", f"npz:{tmp_path / 's.npz'}", "--data",
              f"npz:{tmp_path / 's.npz'}", "--features", f"classifier:{classifier}", "--quiet"]
    assert main(common + ["--n", "1000"]) == 2
    assert "fewer than the requested n=1000" in capsys.readouterr().err
    assert main(common + ["--n", "20", "--metrics", "fid,bogus"]) == 2
    assert "unknown metric(s) bogus" in capsys.readouterr().err
    assert main(common + ["--n", "20", "--features", f"inception:{tmp_path / 'nope'}"]) == 2
    assert "no such directory" in capsys.readouterr().err


def test_cli_classifier_that_is_not_a_keras_model(tmp_path):
    np.savez(tmp_path / "s.npz", x=np.zeros((50, 28, 28), np.uint8))
    junk = tmp_path / "clf.keras"
    junk.write_text("not a model")
    proc = cli("evaluate", "--samples", f"npz:{tmp_path / 's.npz'}", "--data",
               f"npz:{tmp_path / 's.npz'}", "--features", f"classifier:{junk}", "--quiet")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("kgan evaluate")]
    assert len(errors) == 1 and str(junk) in errors[0] and "not a Keras" in errors[0]


def _write_tiny_export(path, latent_dim=4):
    """A TF Serving-style export: serving_default takes `z`, returns `images_float` in [-1, 1]."""
    import tensorflow as tf

    class Export(tf.Module):
        def __init__(self):
            self.w = tf.Variable(np.random.default_rng(1).standard_normal((latent_dim, 784)) / 2,
                                 dtype=tf.float32)

        @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32, name="z")])
        def serve(self, z):
            return {"images_float": tf.reshape(tf.tanh(z @ self.w), [-1, 28, 28, 1])}

    module = Export()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.serve})
    return path


def test_model_sources_export_and_run_dir(mnist, classifier, tmp_path, monkeypatch, capsys):
    import sys
    import types

    from kgan.cli import main
    from kgan.metrics.sources import generator_from_path

    export = _write_tiny_export(tmp_path / "export" / "1")
    gen = generator_from_path(export)
    assert gen.latent_dim == 4
    images = gen.images(np.zeros((3, 4), np.float32))
    assert images.shape == (3, 28, 28, 1) and np.all(np.abs(images) <= 1)
    np.savez(tmp_path / "ref.npz", x=mnist[0][:200, ..., 0])
    out = tmp_path / "r.json"
    assert main(["evaluate", "--model", str(export), "--data", f"npz:{tmp_path / 'ref.npz'}",
                 "--features", f"classifier:{classifier}", "--n", "100", "--quiet",
                 "--metrics", "fid,ppl", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert np.isfinite(report["metrics"]["ppl"]["mean"]) and report["num_samples"] == 100
    assert "ppl" not in report["reference_points"]["real_vs_real"]["metrics"]

    class FakeGan:  # the declared surface is all a run's model needs to provide
        target_feature = None  # generated from noise: no data feature to match

        def inference_inputs(self):
            return gen.specs

        def infer(self, inputs):
            return gen.fn(inputs)

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with pytest.raises(CheckpointError):  # the real kgan.training.load_run: no config.toml
        generator_from_path(run_dir)
    fake = types.ModuleType("kgan.training")
    fake.load_run = lambda path, checkpoint=None: ({}, FakeGan(), 7)
    monkeypatch.setitem(sys.modules, "kgan.training", fake)
    from_run = generator_from_path(run_dir)
    np.testing.assert_allclose(from_run.images(np.ones((2, 4), np.float32)),
                               gen.images(np.ones((2, 4), np.float32)))
    with pytest.raises(CheckpointError, match="no such run directory, checkpoint or export"):
        generator_from_path(tmp_path / "nothing")


def test_cli_default_metrics_come_from_the_config(tmp_path):
    from kgan.commands.evaluate import default_metrics

    cfg = tmp_path / "exp.toml"
    cfg.write_text('[eval]\nmetrics = ["fid", "swd"]\n')
    assert default_metrics(str(cfg)) == ["fid", "swd"]
    assert default_metrics(None) == EvalConfig().metrics == ["fid", "is", "kid", "pr", "coverage"]


def test_classifier_extractor_traces_once_for_every_batch_size(mnist, classifier):
    """Galleries and reports call the extractor with many batch sizes; each new size used to retrace
    (TensorFlow's retracing warning in the pipeline's gallery stage)."""
    extractor = get_extractor(f"classifier:{classifier}")
    x = mnist[0]
    for n in (1, 7, 64, 250, 3):
        features, probs = extractor._forward(x[:n])
        assert features.shape[0] == probs.shape[0] == n
    assert extractor._fn.experimental_get_tracing_count() == 1
