"""The autoencoder families (ae, vae, aae, wae_gan, wae_mmd): their losses, the IMQ MMD, the served encode/decode/
reconstruct/sample surface through export (in a process without kgan), metrics and gallery sections."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import cli

TINY = {"name": "tinyae", "data": {"limit": 96, "batch_size": 16, "holdout": 0.25},
        "model": {"name": "wae_mmd", "width": 8, "latent_dim": 4},
        "train": {"steps": 4, "checkpoint_every": 4, "snapshot_every": 4, "log_every": 2, "ema": 0.0},
        "export": {"warmup_requests": 2}}


def _cfg(**overrides):
    from kgan.config import from_dict

    return from_dict(TINY).replace(**overrides)


@pytest.fixture(scope="module")
def wae_run(tmp_path_factory):
    from kgan.training import train

    root = tmp_path_factory.mktemp("wae") / "run"
    train(_cfg(), root, verbose=False)
    return root


@pytest.fixture(scope="module")
def wae_export(wae_run, tmp_path_factory):
    from kgan.export import export_run

    return export_run(wae_run, "wae", tmp_path_factory.mktemp("saved"))


# ----- the IMQ MMD ------------------------------------------------------------------------------------------------
def _mmd_reference(x, y, sigma2=1.0):
    """The WAE paper's Algorithm 2 estimator written out with loops."""
    d = x.shape[1]

    def k(a, b):
        return sum(2 * d * sigma2 * s / (2 * d * sigma2 * s + np.sum((a - b) ** 2))
                   for s in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0))

    n, m = len(x), len(y)
    xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return xx + yy - 2 * xy


def test_imq_mmd_matches_a_numpy_reference_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    from kgan.mmd import imq_mmd

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 3)), rng.normal(0.5, 1.5, size=(9, 3))
    np.testing.assert_allclose(float(imq_mmd(x, y)), _mmd_reference(x, y), rtol=1e-5)
    np.testing.assert_allclose(float(imq_mmd(x, y, sigma2=2.0)), _mmd_reference(x, y, 2.0), rtol=1e-5)
    same = [float(imq_mmd(rng.normal(size=(150, 8)), rng.normal(size=(150, 8)))) for _ in range(2)]
    shifted = [float(imq_mmd(rng.normal(size=(150, 8)), rng.normal(size=(150, 8)) + shift)) for shift in (0.5, 1, 2)]
    assert max(abs(v) for v in same) < 0.02 < shifted[0]
    assert shifted == sorted(shifted) and shifted[-1] > 20 * max(abs(v) for v in same)


# ----- losses -------------------------------------------------------------------------------------------------------
def _linear_critic(d):
    """logit = mean of the code: large codes read as "real"."""
    import keras

    code = keras.Input((d,), name="code")
    dense = keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(1.0 / d), bias_initializer="zeros")
    return keras.Model(code, dense(code), name="latent_critic")


@pytest.mark.parametrize("family", ["wae_gan", "aae"])
def test_the_latent_critic_sees_prior_draws_as_real_and_codes_as_fake(family):
    from kgan import losses
    from kgan.models.autoencoder import Autoencoder
    from kgan.models.terms import StepContext
    from kgan.nets import autoencoder as nets

    d = 6
    model = Autoencoder(nets.encoder((28, 28, 1), d, 4), nets.decoder(d, (28, 28, 1), 4), _linear_critic(d),
                        family=family, regularization=3.0, seed=1)
    codes = np.full((64, d), 5.0, np.float32)  # far from the prior: the critic's logit is 5
    ctx = StepContext(model, {"image": np.zeros((64, 28, 28, 1), np.float32)}, {"code": codes}, 0)
    terms = {t.name: t for t in model.loss_terms()}
    d_adv, diagnostics = terms["d_adv"].evaluate(ctx, terms["d_adv"].weight)
    prior = np.asarray(ctx.memo("prior", None))
    assert abs(prior.mean()) < 0.3 and 0.7 < prior.std() < 1.3  # N(0, I) draws
    real, fake = np.asarray(ctx.memo("real", None)), np.asarray(ctx.memo("fake", None))
    np.testing.assert_allclose(real[:, 0], prior.mean(axis=1), atol=1e-5)
    np.testing.assert_allclose(fake, 5.0, atol=1e-5)
    expected = 3.0 * float(losses.discriminator_loss("non_saturating", real, fake))
    swapped = 3.0 * float(losses.discriminator_loss("non_saturating", fake, real))
    assert float(d_adv) == pytest.approx(expected, rel=1e-5) and expected > 2 * swapped
    g_adv, _ = terms["g_adv"].evaluate(ctx.fresh(), terms["g_adv"].weight)
    assert float(g_adv) == pytest.approx(3.0 * np.log1p(np.exp(-5.0)), rel=1e-4)  # codes already fool it
    assert list(model.GROUPS) == (["reconstruction", "latent_critic", "encoder"] if family == "aae"  # update order
                                  else ["latent_critic", "autoencoder"])


def test_vae_kl_term_equals_the_closed_form():
    from kgan.models import registry
    from kgan.models.autoencoder import gaussian_kl
    from kgan.models.terms import StepContext

    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(5, 4)), rng.normal(scale=0.5, size=(5, 4))
    sigma = np.exp(0.5 * log_var)
    closed = np.mean(np.sum(-np.log(sigma) + (sigma ** 2 + mean ** 2) / 2 - 0.5, axis=1))
    assert float(gaussian_kl(mean.astype("float32"), log_var.astype("float32"))) == pytest.approx(closed, rel=1e-5)

    model = registry.build_gan(_cfg(**{"model.name": "vae", "model.options": {"kl_weight": 2.0}}))
    batch = {"image": rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")}
    out = model.forward(batch, training=False)
    m, lv = np.asarray(out["mean"], np.float64), np.asarray(out["log_var"], np.float64)
    kl = next(t for t in model.loss_terms() if t.name == "kl")
    value, _ = kl.evaluate(StepContext(model, batch, out, 0), kl.weight)
    expected = 2.0 * np.mean(np.sum(-0.5 * lv + (np.exp(lv) + m ** 2) / 2 - 0.5, axis=1))
    assert float(value) == pytest.approx(expected, rel=1e-4)
    reconstruction = next(t for t in model.loss_terms() if t.name == "reconstruction")
    cost = 0.05 * np.mean(np.sum(((batch["image"] - np.asarray(out["image"])) / 2) ** 2, axis=(1, 2, 3)))
    assert float(reconstruction.evaluate(StepContext(model, batch, out, 0), 1.0)[0]) == pytest.approx(cost, rel=1e-4)


# ----- config -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("overrides, message", [
    ({"model.options": {"kl_weight": 1.0}}, "model.options.kl_weight: unknown option for wae_mmd"),
    ({"model.name": "aae", "model.options": {"prior": "mixture"}}, "model.num_classes: the mixture prior"),
    ({"model.num_classes": 10}, "model.num_classes: wae_mmd learns without labels"),
    ({"model.options": {"encoder": "stochastic"}}, "model.options.encoder: 'stochastic' is not allowed"),
    ({"eval.baselines": ["l1_only"]}, "eval.baselines: model 'wae_mmd' has no baseline 'l1_only'; it has ['ae', 'vae']"),
])
def test_bad_autoencoder_configs_are_refused_naming_the_field(overrides, message):
    from kgan.errors import ConfigError
    from kgan.models import registry

    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        registry.validate(_cfg(**overrides))


def test_ae_and_vae_baselines_keep_the_encoder_decoder_options():
    from kgan.models.registry import baseline_config

    cfg = _cfg(**{"model.name": "aae", "model.options": {"nets": "mlp", "cost_scale": 0.1, "critic_units": 8}})
    _, ae = baseline_config(cfg, "ae")
    _, vae = baseline_config(cfg, "vae")
    assert (ae.model.name, ae.model.options, ae.name) == ("ae", {"nets": "mlp", "cost_scale": 0.1}, "tinyae-ae")
    assert (vae.model.name, vae.model.options) == ("vae", {"nets": "mlp", "cost_scale": 0.1})


def test_paper_learning_rate_drops_as_phases():
    from kgan import phases
    from kgan.models.registry import learning_rates

    cfg = _cfg(**{"model.name": "wae_gan", "train.steps": 10, "train.g_lr": 1e-3, "train.d_lr": 5e-4,
                  "train.phases": [{"name": "start", "steps": 3}, {"name": "halved", "steps": 2, "g_lr": 5e-4,
                                                                             "d_lr": 2.5e-4},
                                   {"name": "tenth", "steps": 5, "g_lr": 1e-4, "d_lr": 5e-5}]})
    base = learning_rates(cfg, ("latent_critic", "autoencoder"))
    rates = [phases.phase_at(phases.plan(cfg), step).learning_rates(base) for step in (0, 3, 9)]
    assert [r["autoencoder"] for r in rates] == [1e-3, 5e-4, 1e-4] and rates[2]["latent_critic"] == 5e-5


# ----- training, serving, scoring -----------------------------------------------------------------------------------
def test_supervised_aae_trains_three_groups_and_snapshots_input_and_reconstruction(tmp_path):
    from kgan.training import train

    run = tmp_path / "aae"
    options = {"prior": "mixture", "encoder": "gaussian", "critic_units": 8, "critic_depth": 2}
    train(_cfg(**{"model.name": "aae", "model.num_classes": 10, "model.options": options, "train.steps": 2,
                  "train.snapshot_every": 2}), run, verbose=False)
    info = json.loads((run / "run.json").read_text())
    assert set(info["optimizers"]) == {"reconstruction", "latent_critic", "encoder"}
    assert [d["name"] for d in info["directions"]] == ["generate", "decode", "encode", "reconstruct"]
    assert [s["name"] for s in info["directions"][0]["inputs"]] == ["z", "label"]  # the label-conditioned prior
    with np.load(run / "snapshots" / "step_0000002.npz") as snap:
        assert list(snap["columns"]) == ["input", "reconstructed"] and snap["triptych"].shape[1:] == (2, 28, 28, 1)
    history = (run / "logs" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"reconstruction", "reconstruction_loss", "d_loss", "encoder_loss"} <= set(history)


LOADER = textwrap.dedent("""
    import sys
    for blocked in ("kgan", "keras", "tf_keras"):
        sys.modules[blocked] = None
    import numpy as np
    import tensorflow as tf

    m = tf.saved_model.load(sys.argv[1])
    images = np.load(sys.argv[2])
    out = {"signatures": np.array(sorted(m.signatures))}
    seeded = dict(num_samples=tf.constant(4), seed=tf.constant(5), truncation=tf.constant(1.0))
    out["default"] = m.signatures["serving_default"](**seeded)["images"].numpy()
    out["sample"] = m.signatures["sample"](**seeded)["images"].numpy()
    out["codes"] = m.signatures["encode"](image=tf.constant(images))["codes"].numpy()
    floats = tf.constant(images.astype("float32") / 127.5 - 1.0)
    out["codes_float"] = m.signatures["encode_float"](image=floats)["codes"].numpy()
    out["decoded"] = m.signatures["decode"](code=tf.constant(out["codes_float"]))["images_float"].numpy()
    out["reconstructed"] = m.signatures["reconstruct_float"](image=floats)["images_float"].numpy()
    imported = [n for n, mod in sys.modules.items() if mod is not None and n.split(".")[0] in ("kgan", "keras")]
    assert not imported, imported
    np.savez(sys.argv[3], **out)
""")


def test_export_serves_sample_encode_decode_reconstruct_without_kgan(wae_run, wae_export, tmp_path):
    from kgan.data import load_arrays
    from kgan.models import surface
    from kgan.training import load_run

    history = (wae_run / "logs" / "history.csv").read_text().splitlines()[0].split(",")
    assert {"reconstruction", "mmd"} <= set(history) and "d_loss" not in history  # no critic in WAE-MMD

    images = load_arrays("mnist", limit=5)[0]
    np.save(tmp_path / "images.npy", images)
    (tmp_path / "load.py").write_text(LOADER)
    proc = subprocess.run([sys.executable, str(tmp_path / "load.py"), str(wae_export), str(tmp_path / "images.npy"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    assert set(out["signatures"]) == {"serving_default", "sample", "decode", "encode", "encode_float", "reconstruct",
                                      "reconstruct_float", "metadata"}
    np.testing.assert_array_equal(out["default"], out["sample"])  # serving_default is the seeded sampler
    assert out["default"].shape == (4, 28, 28, 1) and out["default"].dtype == np.uint8
    _, model, _ = load_run(wae_run)
    directions = {d.name: d for d in surface.directions(model)}
    floats = images.astype("float32") / 127.5 - 1.0
    codes = np.asarray(directions["encode"].network(floats))
    np.testing.assert_allclose(out["codes_float"], codes, atol=1e-5)
    np.testing.assert_allclose(out["codes"], codes, atol=1e-5)  # uint8 pixels scaled like training data
    np.testing.assert_allclose(out["decoded"], np.asarray(model.infer({"code": codes})), atol=1e-5)
    np.testing.assert_allclose(out["reconstructed"], out["decoded"], atol=1e-5)
    meta = json.loads((wae_export / "assets" / "kgan_metadata.json").read_text())
    assert meta["default_signature"] == "sample" and [d["output"] for d in meta["directions"]] == ["image", "code",
                                                                                                    "image"]


def test_served_model_and_kgan_sample_read_the_declaration(wae_export, tmp_path):
    from kgan.errors import ExportError
    from kgan.export.served import ServedModel

    served = ServedModel(wae_export)
    assert [s.name for s in served.specs] == ["code"]
    encode = served.direction("encode")
    codes = encode.infer({"image": np.zeros((3, 28, 28, 1), np.float32)})
    assert codes.shape == (3, 4) and encode.output == "code"
    with pytest.raises(ExportError, match="outputs codes, not images"):
        encode.images({"image": np.zeros((1, 28, 28, 1), np.float32)})
    result = cli("sample", str(wae_export), "--n", "4", "--out", str(tmp_path / "grid.png"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "grid.png").is_file()


def test_encoder_metrics_score_held_out_codes_alike_from_run_and_export(wae_run, wae_export, tmp_path):
    from kgan.data import load_arrays
    from kgan.data.features import feature_arrays, feature_batches
    from kgan.imageio import to_uint8
    from kgan.metrics import ClassifierExtractor, evaluate, generator_from_path, train_classifier
    from kgan.mmd import imq_mmd

    images, labels = load_arrays("mnist", limit=256)
    extractor = ClassifierExtractor(train_classifier(images, labels, 1, tmp_path / "clf.keras", seed=0))
    cfg = _cfg()
    reports = [evaluate(generator_from_path(p), images[:64], extractor, metrics="prior_mmd,reconstruction_mse,"
                        "reconstruction_accuracy,probe_accuracy", n=24, batch_size=8,
                        data=feature_batches(cfg.data, 8, seed=0, split="evaluation"), progress=False)
               for p in (wae_run, wae_export)]
    for name, key in (("prior_mmd", "value"), ("reconstruction_mse", "mean"), ("reconstruction_accuracy", "accuracy"),
                      ("probe_accuracy", "accuracy")):
        assert reports[0]["metrics"][name][key] == pytest.approx(reports[1]["metrics"][name][key], rel=1e-4, abs=1e-6)
    held = feature_arrays(cfg.data, 24, seed=0, split="evaluation")
    generator = generator_from_path(wae_run)
    codes = generator.encode(held["image"])
    made = generator.decode(codes)
    mse = np.mean((to_uint8(made) / 255.0 - to_uint8(held["image"]) / 255.0) ** 2)
    metrics = reports[0]["metrics"]
    assert reports[0]["num_held_out"] == 24
    assert metrics["reconstruction_mse"]["mean"] == pytest.approx(mse, rel=1e-6)
    prior = np.random.default_rng(0).standard_normal(codes.shape).astype(np.float32)
    assert metrics["prior_mmd"]["value"] == pytest.approx(float(imq_mmd(codes, prior)), rel=1e-5)
    predicted = extractor.probs(to_uint8(made)).argmax(axis=1)
    assert metrics["reconstruction_accuracy"]["accuracy"] == pytest.approx(np.mean(predicted == held["label"]))


def test_linear_probe_reads_separable_codes_and_not_noise():
    from kgan.metrics.linear_probe import probe_accuracy

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 400)
    codes = np.eye(4)[labels] * 3 + rng.normal(scale=0.3, size=(400, 4))
    assert probe_accuracy(codes[:200], labels[:200], codes[200:], labels[200:]) == 1.0
    noise = rng.normal(size=(400, 4))
    assert probe_accuracy(noise[:200], labels[:200], noise[200:], labels[200:]) < 0.45


def test_gallery_shows_reconstructions_code_scatter_and_interpolations(wae_run, wae_export, tmp_path):
    from PIL import Image

    from kgan.gallery import render_gallery
    from kgan.gallery.autoencoder import INTERPOLATIONS, PAIRS_PER_ROW, PAIRS_SHOWN, STEPS, project_2d

    for source, out in ((wae_run, tmp_path / "run"), (wae_export, tmp_path / "export")):
        index = render_gallery(source, out, real_limit=64, scale=1)
        meta = json.loads((index.parent / "gallery.json").read_text())
        assert {"reconstructions", "code_scatter", "interpolations", "samples"} <= set(meta["sections"])
        assert not meta["sections"]["reconstructions"]["notes"]
        width, height = Image.open(out / "reconstructions.png").size
        assert (width, height) == (2 * PAIRS_PER_ROW * 28, PAIRS_SHOWN // PAIRS_PER_ROW * 28)
        assert Image.open(out / "interpolations.png").size == ((STEPS + 2) * 28, INTERPOLATIONS * 28)
        assert (out / "code_scatter.png").is_file()
    points, how = project_2d(np.random.default_rng(0).normal(size=(50, 4)) * [5, 1, 0.1, 0.1])
    assert points.shape == (50, 2) and "principal components" in how and points[:, 0].std() > 3 * points[:, 1].std()


def test_a_model_without_an_encode_decode_pair_has_the_sections_named_as_not_shown():
    from types import SimpleNamespace

    from kgan.gallery.autoencoder import not_shown
    from kgan.models.surface import InputSpec

    image = [InputSpec("image_a", "image", (28, 28, 1), feature="image_a").to_json()]
    cyclegan = [{"name": "a_to_b", "inputs": image, "inverse": "b_to_a", "output": "image"},
                {"name": "b_to_a", "inputs": image, "inverse": "a_to_b", "output": "image"}]
    for directions in ([], cyclegan):  # a GAN's one unnamed direction; image <-> image directions
        reasons = not_shown(SimpleNamespace(available=True, directions=directions))
        assert set(reasons) == {"reconstructions", "code_scatter", "interpolations"}
        assert "not an autoencoder" in reasons["code_scatter"]


def test_cli_refuses_a_bad_autoencoder_config_in_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('name = "bad"\n[model]\nname = "aae"\noptions = {prior = "mixture"}\n')
    result = cli("config", "show", str(path))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "model.num_classes: the mixture prior has one Gaussian per class" in result.stderr
