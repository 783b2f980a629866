"""SRGAN / DeblurGAN and the perceptual loss: sub-pixel upsampling, the residual skip, the feature networks
(random, a kgan classifier, VGG19 from a local weights file only), config refusals, training steps, the
pretraining -> GAN phase switch, the pixel-only baseline, resume, export and evaluation."""

import json
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.models
from kgan import perceptual
from kgan.data.features import feature_arrays
from kgan.errors import ConfigError
from kgan.models import registry
from kgan.nets.resnet import residual_generator

from conftest import cli

OPTS = {"blocks": 1}
SR = {"name": "sr", "seed": 0, "model": {"name": "srgan", "width": 8, "options": OPTS},
      "data": {"source": "mnist", "limit": 64, "batch_size": 8, "transform": "downsample:4"}}
PHASES = [{"name": "pretrain", "steps": 2, "terms": {"d_adv": 0, "g_adv": 0, "perceptual": 0}},
          {"name": "gan", "steps": 2}]
DEBLUR = {"name": "deblur", "seed": 0, "model": {"name": "deblurgan", "width": 8, "options": OPTS},
          "data": {"source": "mnist", "limit": 64, "batch_size": 8, "transform": "blur:1.5"},
          "train": {"gradient_penalty": 10.0, "n_critic": 2}}


def config(base, **overrides):
    return kgan.config.from_dict(base).replace(**overrides)


def compiled(cfg):
    model = kgan.models.build_gan(cfg)
    model.compile(optimizers={"discriminator": keras.optimizers.Adam(1e-3), "generator": keras.optimizers.Adam(1e-3)})
    return model


def batch_of(cfg, n=8):
    return {k: tf.constant(v) for k, v in feature_arrays(cfg.data, n).items()}


def weights(network):
    return [w.copy() for w in network.get_weights()]


def changed(before, network):
    return any(not np.array_equal(a, b) for a, b in zip(before, network.get_weights()))


@pytest.fixture(scope="module")
def vgg_weights(tmp_path_factory):
    """A tiny stand-in for the ImageNet file: VGG19 without its top, random weights, saved by the test."""
    keras.utils.set_random_seed(5)
    vgg = keras.applications.VGG19(include_top=False, weights=None, input_shape=(32, 32, 3))
    path = tmp_path_factory.mktemp("vgg") / "vgg19_notop.weights.h5"
    vgg.save_weights(path)
    return {"path": path, "conv1": vgg.get_layer("block1_conv1").get_weights()[0]}


@pytest.fixture(scope="module")
def classifier_file(tmp_path_factory):
    from kgan.metrics.classifier import build_classifier

    keras.utils.set_random_seed(1)
    path = tmp_path_factory.mktemp("clf") / "perceptual.keras"
    build_classifier((28, 28, 1), 10).save(path)
    return path


# ----- networks ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_subpixel_upsampling_shapes_for_each_scale(scale):
    g = residual_generator((32 // scale, 32 // scale, 1), (32, 32, 1), width=4, blocks=1)
    assert g.output.shape[1:] == (32, 32, 1)
    convs = [layer for layer in g.layers if layer.name.startswith("subpixel_")
             and isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == int(np.log2(scale))  # one depth-to-space(2) per factor of 2, no transposed convolution
    assert all(l.filters == 16 for l in convs)  # 4x the width, rearranged into 2x2 pixels
    assert not any(isinstance(l, keras.layers.Conv2DTranspose) for l in g.layers)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32 // scale, 32 // scale, 1)).astype("float32")
    assert g(x).shape == (2, 32, 32, 1)
    with pytest.raises(ValueError, match="scale must be one of"):
        residual_generator((10, 10, 1), (32, 32, 1))


def test_global_residual_skip_starts_at_the_identity_and_learns_a_correction():
    cfg = config(DEBLUR)
    model = compiled(cfg)
    batch = batch_of(cfg)
    blurred = batch["source"]
    np.testing.assert_allclose(model.generator(blurred), blurred, atol=1e-6)  # untrained: returns its input
    plain = residual_generator((28, 28, 1), (28, 28, 1), width=8, blocks=1, downsample=2)
    assert float(np.abs(plain(blurred) - blurred).mean()) > 0.05  # without the skip it does not
    for _ in range(3):
        model.train_step(batch)
    out = model.generator(blurred)
    assert 0 < float(np.abs(out - blurred).max()) and np.all(np.abs(out) <= 1.0)


# ----- the perceptual loss -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["random:3", "classifier", "vgg19"])
def test_perceptual_distance_is_zero_on_identical_images_and_positive_otherwise(kind, classifier_file, vgg_weights):
    spec = {"classifier": f"classifier:{classifier_file}", "vgg19": f"vgg19:{vgg_weights['path']}"}.get(kind, kind)
    features = perceptual.feature_network(spec, (28, 28, 1), seed=0)
    assert features.trainable_weights == [] and len(features.outputs) >= 3  # frozen, several layers tapped
    rng = np.random.default_rng(0)
    a = tf.constant(rng.uniform(-1, 1, (4, 28, 28, 1)).astype("float32"))
    b = tf.constant(np.clip(a.numpy() + rng.normal(0, 0.3, a.shape), -1, 1).astype("float32"))
    assert float(perceptual.perceptual_distance(features, a, a)) == 0.0
    with tf.GradientTape() as tape:
        tape.watch(b)
        distance = perceptual.perceptual_distance(features, b, a)
    assert float(distance) > 0
    grad = tape.gradient(distance, b).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).sum() > 0  # it can train a generator


def test_random_features_are_a_function_of_the_seed():
    a, b, c = (perceptual.feature_network("random:2", (28, 28, 1), seed=s) for s in (3, 3, 4))
    assert all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights()))
    assert not np.array_equal(a.get_weights()[0], c.get_weights()[0])


def test_vgg19_weights_come_only_from_the_given_file(vgg_weights, monkeypatch, tmp_path):
    from keras.src.utils import file_utils

    def no_downloads(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(file_utils, "get_file", no_downloads)
    features = perceptual.feature_network(f"vgg19:{vgg_weights['path']}", (28, 28, 1))
    vgg = features.get_layer("vgg19_taps")
    np.testing.assert_array_equal(vgg.get_layer("block1_conv1").get_weights()[0], vgg_weights["conv1"])
    assert [o.shape[1:] for o in features.outputs] == [(32, 32, 64), (16, 16, 128), (8, 8, 256)]  # 28 -> 32 px
    with pytest.raises(ConfigError) as missing:
        perceptual.feature_network(f"vgg19:{tmp_path / 'absent.h5'}", (28, 28, 1))
    message = str(missing.value)
    assert "\n" not in message and message.startswith("model.options.perceptual: ")
    assert "absent.h5 does not exist" in message and "save_weights" in message and "never downloads" in message
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not weights")
    with pytest.raises(ConfigError, match=r"model.options.perceptual: .*bad.weights.h5 does not hold VGG19 weights"):
        perceptual.feature_network(f"vgg19:{bad}", (28, 28, 1))


@pytest.mark.parametrize("options,message", [
    ({"perceptual": "alexnet:x"}, r"model.options.perceptual: 'alexnet:x' is not allowed; choose from"),
    ({"perceptual": "random:0"}, r"model.options.perceptual: 'random:0': random:DEPTH needs DEPTH an integer"),
    ({"perceptual": "classifier:/no/such.keras"}, r"model.options.perceptual: /no/such.keras does not exist"),
    ({"pixel_loss": "l2"}, r"model.options.pixel_loss: expected 'l1' or 'mse'"),
    ({"adversarial_weight": -1}, r"model.options.adversarial_weight: expected a number >= 0"),
    ({"dropout": 0.5}, r"model.options.dropout: unknown option for srgan"),
    ({"generator_norm": "group"}, r"model.options.generator_norm: 'group' is not allowed"),
])
def test_option_errors_name_the_key_without_tensorflow(options, message):
    with pytest.raises(ConfigError, match=message):
        config(SR, **{"model.options": options})


def test_data_and_family_requirements_are_checked_at_config_load():
    with pytest.raises(ConfigError, match=r"data.transform: .*srgan upsamples its source by 2, 4 or 8"):
        config(SR, **{"data.transform": "blur:1"})
    with pytest.raises(ConfigError, match=r"data.transform: .*deblurgan restores a degraded image"):
        config(DEBLUR, **{"data.transform": "downsample:2"})
    with pytest.raises(ConfigError, match=r"data.transform: srgan upsamples"):
        config(SR, **{"data.transform": ""})
    with pytest.raises(ConfigError, match=r"train.gradient_penalty: deblurgan's critic is WGAN-GP's"):
        config(DEBLUR, **{"train.gradient_penalty": 0.0})
    with pytest.raises(ConfigError, match=r"model.loss: a Wasserstein critic without a constraint is unbounded"):
        config(SR, **{"model.loss": "wasserstein"})
    config(SR, **{"model.loss": "wasserstein", "train.gradient_penalty": 10.0, "model.norm": "layer"})


# ----- training ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("base", [SR, DEBLUR], ids=["srgan", "deblurgan"])
def test_a_few_steps_train_both_networks_and_never_the_feature_network(base):
    cfg = config(base)
    model = compiled(cfg)
    before = {name: weights(net) for name, net in model.networks().items()}
    batch = batch_of(cfg)
    for _ in range(3):
        logs = {k: float(np.ravel(v)[0]) for k, v in model.train_step(batch).items()}
    assert all(np.isfinite(v) for v in logs.values()) and logs["nonfinite"] == 0
    assert logs["perceptual"] > 0 and logs["g_loss"] > 0
    assert changed(before["generator"], model.generator) and changed(before["discriminator"], model.discriminator)
    assert not changed(before["perceptual"], model.perceptual)
    expected = ["d_adv", "g_adv", "pixel", "perceptual"] if base is SR else ["d_adv", "g_adv", "gp", "pixel", "perceptual"]
    assert model.term_names() == expected


def test_pretraining_phase_is_pixel_only_and_the_switch_turns_the_gan_terms_on():
    cfg = config(SR)
    model = compiled(cfg)
    batch = batch_of(cfg)
    d_before, g_before = weights(model.discriminator), weights(model.generator)
    model.set_phase({"d_adv": 0, "g_adv": 0, "perceptual": 0})
    assert [t.name for g in model.GROUPS for t, _ in model.active_terms(g)] == ["pixel"]
    out = model.generator(batch["source"], training=True)
    pixel = float(np.mean(np.square(np.asarray(out) - batch["target"].numpy())))
    assert float(model.train_step(batch)["g_loss"]) == pytest.approx(pixel, rel=1e-5)  # exactly the pixel MSE
    model.train_step(batch)
    assert not changed(d_before, model.discriminator) and changed(g_before, model.generator)
    model.set_phase(None)  # the GAN phase: the model's weights
    active = {t.name: w for g in model.GROUPS for t, w in model.active_terms(g)}
    assert active == {"d_adv": 1.0, "g_adv": 1e-3, "pixel": 1.0, "perceptual": 1.0}
    model.train_step(batch)
    assert changed(d_before, model.discriminator)


def test_pixel_only_baseline_has_no_critic_and_no_phases():
    cfg = config(SR, **{"train.steps": 4, "train.phases": PHASES, "eval.baselines": ["pixel_only"]})
    description, baseline = registry.baseline_config(cfg, "pixel_only")
    assert "pixel loss only" in description and baseline.name == "sr-pixel_only"
    assert baseline.train.phases == [] and baseline.train.steps == 4  # the phases schedule terms it lacks
    model = compiled(baseline)
    assert list(model.networks()) == ["generator", "perceptual"] and list(model.GROUPS) == ["generator"]
    assert [t.name for g in model.GROUPS for t, _ in model.active_terms(g)] == ["pixel"]
    batch = batch_of(baseline)
    out = model.generator(batch["source"], training=True)
    logs = model.train_step(batch)
    assert float(logs["g_loss"]) == pytest.approx(float(np.mean(np.square(np.asarray(out) - batch["target"].numpy()))),
                                                  rel=1e-5)
    assert "d_loss" not in logs
    deblur = compiled(registry.baseline_config(config(DEBLUR, **{"eval.baselines": ["pixel_only"]}), "pixel_only")[1])
    assert [t.name for g in deblur.GROUPS for t, _ in deblur.active_terms(g)] == ["pixel"]  # no penalty either
    restored = type(model).from_config(model.get_config())
    assert list(restored.networks()) == ["generator", "perceptual"] and restored.adversarial_weight == 0
    with pytest.raises(ConfigError, match=r"eval.baselines: model 'srgan' has no baseline 'l1_only'; "
                                          r"it has \['pixel_only', 'adversarial_weight:W >= 0'\]"):
        config(SR, **{"eval.baselines": ["l1_only"]})


# ----- a run: phases across a resume, export, evaluation -------------------------------------------------------------
@pytest.fixture(scope="module")
def sr_run(tmp_path_factory, classifier_file):
    """srgan with a classifier as the perceptual network: the pretraining phase (2 steps), then resumed
    with the GAN phase (2 more)."""
    from kgan.training import train

    base = config(SR, **{"model.options": {**OPTS, "perceptual": f"classifier:{classifier_file}"},
                         "data.holdout": 0.25, "train.checkpoint_every": 2, "train.snapshot_every": 2,
                         "train.log_every": 1, "train.ema": 0.0})
    run = tmp_path_factory.mktemp("sr") / "run"
    first = base.replace(**{"train.steps": 2, "train.phases": PHASES[:1]})
    train(first, run, verbose=False)
    from kgan.training import load_run

    _, pretrained, _ = load_run(run)
    cfg = base.replace(**{"train.steps": 4, "train.phases": PHASES})
    train(cfg, run, verbose=False)
    return {"run": run, "cfg": cfg, "pretrained": pretrained}


def test_resume_continues_into_the_gan_phase(sr_run):
    from kgan.training import load_run, read_run_info

    run, pretrained = sr_run["run"], sr_run["pretrained"]
    assert int(pretrained.steps_done.numpy()) == 2
    keras.utils.set_random_seed(0)
    fresh = kgan.models.build_gan(sr_run["cfg"])
    for a, b in zip(fresh.discriminator.get_weights(), pretrained.discriminator.get_weights()):
        np.testing.assert_array_equal(a, b)  # pretraining never touched the critic
    _, resumed, step = load_run(run)
    assert step == 4 and read_run_info(run)["phase"]["name"] == "gan"
    assert changed(weights(pretrained.discriminator), resumed.discriminator)
    for a, b in zip(pretrained.perceptual.get_weights(), resumed.perceptual.get_weights()):
        np.testing.assert_array_equal(a, b)  # the feature network is restored, never trained
    rows = (run / "logs" / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    d_loss = [float(r.split(",")[header.index("d_loss")]) for r in rows[1:]]
    assert len(d_loss) == 4 and d_loss[:2] == [0.0, 0.0] and all(v > 0 for v in d_loss[2:])
    events = (run / "logs" / "events.log").read_text()
    assert "step 0: phase 1/1 'pretrain': steps 0-2" in events and "step 2: phase 2/2 'gan': steps 2-4" in events


def test_export_serves_source_to_image_and_only_the_generator(sr_run, tmp_path):
    from kgan.export import export_run, read_metadata
    from kgan.training import load_run

    version = export_run(sr_run["run"], "sr4", tmp_path / "saved")
    meta = read_metadata(version)
    assert meta["target_feature"] == "target" and meta["identity_feature"] == "source"
    assert [i["name"] for i in meta["inputs"]] == ["source"] and meta["inputs"][0]["shape"] == [7, 7, 1]
    loaded = tf.saved_model.load(str(version))
    source = np.random.default_rng(0).uniform(-1, 1, (3, 7, 7, 1)).astype("float32")
    signature = loaded.signatures["serving_float"]
    served = signature(source=tf.constant(source))["images_float"].numpy()
    _, model, _ = load_run(sr_run["run"])
    np.testing.assert_allclose(served, np.asarray(model.infer({"source": source})), atol=1e-5)
    assert served.shape == (3, 28, 28, 1)
    generator_size = sum(int(np.prod(w.shape)) for w in model.generator.weights)
    assert sum(int(np.prod(v.shape)) for v in signature.variables) == generator_size  # no critic, no feature net


def test_evaluation_refuses_the_loss_network_and_accepts_another(sr_run, classifier_file, tmp_path):
    import shutil

    cfg = sr_run["cfg"]
    copy = tmp_path / "classifier.keras"
    shutil.copy(classifier_file, copy)  # the same network under another name is still the same network
    with pytest.raises(ConfigError, match=r"model.options.perceptual: .* is also the evaluation classifier"):
        registry.check_evaluation_network(cfg, copy)
    # `kgan evaluate` refuses it too, in one line, before scoring anything
    refused = cli("evaluate", str(sr_run["run"]), "--data", "mnist", "--features", f"classifier:{copy}", "--n", "8")
    assert refused.returncode == 2 and "is also the evaluation classifier" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    from kgan.metrics.classifier import build_classifier

    keras.utils.set_random_seed(2)  # another seed: another network
    other = tmp_path / "other.keras"
    build_classifier((28, 28, 1), 10).save(other)
    registry.check_evaluation_network(cfg, other)


def test_shipped_sr_pipeline_trains_exports_and_evaluates(tmp_path):
    """pipelines/mnist_sr4.toml, shortened: both phases, the pixel-only and an adversarial-weight baseline, export
    and evaluation on held-out pairs with the identity (upsampled source), bicubic and the baselines as reference
    points, and the perception-distortion plot beside the report."""
    shipped = kgan.config.load_config("mnist_sr4")
    small = shipped.replace(**{
        "data.limit": 320, "data.batch_size": 8, "model.width": 8, "model.options": {**shipped.model.options, "blocks": 1},
        "train.steps": 4, "train.phases": PHASES, "train.log_every": 2, "train.checkpoint_every": 4,
        "train.snapshot_every": 4, "eval.num_samples": 16, "eval.classifier_epochs": 1, "eval.history_every": 0,
        "eval.metrics": ["fid", "l1", "psnr", "ssim", "output_accuracy"],
        "eval.baselines": ["pixel_only", "adversarial_weight:0.01"]})
    path = tmp_path / "sr4.toml"
    path.write_text(kgan.config.dump_toml(small))
    r = cli("pipeline", str(path), "--root", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = {l.split()[0]: l.split()[-1] for l in r.stdout.splitlines() if l.startswith("  ")}
    report = json.loads(open(summary["metrics_report"]).read())
    assert {"fid", "l1", "psnr", "ssim", "output_accuracy"} <= set(report["metrics"])
    points = report["reference_points"]
    assert set(points) >= {"identity", "pixel_only", "bicubic", "adversarial_weight:0.01"}  # bicubic: the classical SR
    assert "adversarial weight 0.01" in points["adversarial_weight:0.01"]["description"]
    plotted = report["perception_distortion"]
    assert plotted["plot"] == str(Path(summary["metrics_report"]).resolve().with_name("report_perception_distortion.png"))
    assert Path(plotted["plot"]).stat().st_size > 5000
    by_column = {p["column"]: (p["fid"], p["psnr"]) for p in plotted["points"]}
    assert by_column[small.name] == (report["metrics"]["fid"]["value"], report["metrics"]["psnr"]["mean"])
    baseline = points["adversarial_weight:0.01"]["metrics"]
    assert by_column["adversarial weight:0.01"] == (baseline["fid"]["value"], baseline["psnr"]["mean"])
    assert {"bicubic", "identity", "pixel only", "real vs real"} <= set(by_column)
    signature = tf.saved_model.load(summary["saved_model"]).signatures["serving_default"]
    assert signature(source=tf.constant(np.zeros((2, 7, 7, 1), np.uint8)))["images"].shape == (2, 28, 28, 1)
