"""CGAN / ACGAN / InfoGAN and the discriminator tricks on the shared engine (tiny CPU runs, 8x8 images)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kgan.config
import kgan.models
from kgan.errors import ConfigError, DataError
from kgan.models.conditional import ACGAN, CGAN, InfoGAN

RES, LATENT, BATCH, K = 8, 8, 8, 10


def make_cfg(name, *, num_classes=0, options=None, **train):
    train.setdefault("ema", 0.0)
    model = {"name": name, "width": 8, "latent_dim": LATENT, "num_classes": num_classes}
    if options:
        model["options"] = options
    return kgan.config.from_dict({"seed": 0, "model": model,
                                  "data": {"resolution": RES, "channels": 1, "batch_size": BATCH},
                                  "train": train})


def build(cfg):
    keras.utils.set_random_seed(0)
    gan = kgan.models.build_gan(cfg)
    gan.compile(*kgan.models.build_optimizers(cfg))
    return gan


def fit(gan, cfg, steps=2):
    n = BATCH * cfg.train.n_critic * steps
    x = np.random.default_rng(0).uniform(-1, 1, (n, RES, RES, 1)).astype("float32")
    y = (np.arange(n) % K).astype("int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH * cfg.train.n_critic, drop_remainder=True)
    history = gan.fit(ds, verbose=0).history
    return {k: v[-1] for k, v in history.items()}


def weights(net):
    return [np.array(w) for w in net.trainable_weights]


MODELS = [
    ("cgan", K, {"nets": "mlp"}),  # one-hot concatenation (seed 004)
    ("cgan", K, {"conditioning": "embedding"}),
    ("cgan", K, {"conditioning": "projection", "tricks": ["spectral_norm"]}),
    ("cgan", K, {"conditioning": "concat"}),
    ("acgan", K, {"aux_weight": 0.5}),
    ("infogan", 0, {"categorical": 3, "continuous": 2}),
    ("infogan", 0, {"nets": "mlp", "cont_loss": "mse"}),
]


@pytest.mark.parametrize("name,k,options", MODELS, ids=lambda v: str(v))
def test_models_train_with_finite_losses(name, k, options):
    cfg = make_cfg(name, num_classes=k, options=options)
    gan = build(cfg)
    g0, d0 = weights(gan.generator), weights(gan.discriminator)
    logs = fit(gan, cfg)
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert logs["nonfinite"] == 0
    own_terms = {"acgan": ["d_aux", "g_aux"], "infogan": ["d_info_cat", "g_info_cat"]}.get(name, [])
    assert all(logs[t] > 0 for t in own_terms), logs  # the variant's loss terms are logged on their own
    assert any(not np.allclose(a, b) for a, b in zip(g0, weights(gan.generator)))
    assert any(not np.allclose(a, b) for a, b in zip(d0, weights(gan.discriminator)))


TRICKS = ["minibatch_discrimination", "minibatch_stddev", "virtual_batch_norm", "spectral_norm", "self_attention"]


@pytest.mark.parametrize("trick", TRICKS)
def test_each_trick_trains(trick):
    cfg = make_cfg("dcgan", options={"tricks": [trick]})
    gan = build(cfg)
    layer_names = [l.name for l in gan.discriminator.layers]
    expected = {"minibatch_discrimination": "minibatch_discrimination", "minibatch_stddev": "minibatch_stddev",
                "virtual_batch_norm": "vbn_reference", "self_attention": "self_attention"}.get(trick)
    if expected:
        assert expected in layer_names
    else:
        assert any(isinstance(l, keras.layers.SpectralNormalization) for l in gan.discriminator.layers)
    logs = fit(gan, cfg)
    assert all(np.isfinite(v) for v in logs.values()), logs


def test_all_tricks_with_acgan_mlp_and_feature_matching():
    cfg = make_cfg("acgan", num_classes=K, feature_matching=1.0,
                   options={"nets": "mlp", "tricks": [t for t in TRICKS if t != "self_attention"]})
    logs = fit(build(cfg), cfg)
    assert all(np.isfinite(v) for v in logs.values()), logs


def test_vbn_reference_is_the_first_real_batch():
    cfg = make_cfg("dcgan", options={"tricks": ["virtual_batch_norm"], "vbn_reference_size": 4})
    gan = build(cfg)
    ref = gan.discriminator.get_layer("vbn_reference")
    fit(gan, cfg, steps=2)
    first = np.random.default_rng(0).uniform(-1, 1, (BATCH * 2, RES, RES, 1)).astype("float32")[:4]
    np.testing.assert_allclose(np.asarray(ref.reference), first)


def test_plain_builders_reproduced_without_tricks():
    """customize() with no options rebuilds the registry's own nets (same parameter counts)."""
    from kgan.models import conditional

    cfg = make_cfg("dcgan", num_classes=K)
    plain = kgan.models.build_gan(cfg)
    g, d, _ = conditional.customize(cfg, kgan.models.registry.resolve(cfg)[0], (RES, RES, 1), "batch")
    assert g.count_params() == plain.generator.count_params()
    assert d.count_params() == plain.discriminator.count_params()


def test_config_errors():
    with pytest.raises(ConfigError, match="model.num_classes"):
        kgan.models.build_gan(make_cfg("cgan"))
    with pytest.raises(ConfigError, match="model.num_classes"):
        kgan.models.build_gan(make_cfg("acgan"))
    with pytest.raises(ConfigError, match="model.options.tricks"):
        kgan.models.build_gan(make_cfg("dcgan", options={"tricks": ["dropout"]}))
    with pytest.raises(ConfigError, match="train.feature_matching"):
        kgan.models.build_gan(make_cfg("dcgan", options={"tricks": ["feature_matching"]}))
    with pytest.raises(ConfigError, match="model.options.conditioning"):
        kgan.models.build_gan(make_cfg("cgan", num_classes=K, options={"conditioning": "film"}))
    with pytest.raises(ConfigError, match="model.options.colour"):
        kgan.models.build_gan(make_cfg("cgan", num_classes=K, options={"colour": 1}))
    with pytest.raises(ConfigError, match="self_attention"):
        kgan.models.build_gan(make_cfg("gan", options={"tricks": ["self_attention"]}))


def test_label_range_and_shape_errors():
    gan = kgan.models.build_gan(make_cfg("cgan", num_classes=K))
    z = np.zeros((1, LATENT), "float32")
    with pytest.raises(DataError, match=r"\[0, 10\)"):
        gan.generate(z, labels=[10])
    with pytest.raises(DataError, match=r"\[0, 10\)"):
        gan.generate(z, labels=[-1])
    with pytest.raises(DataError, match=r"shape \[1\]"):
        gan.generate(z, labels=[1, 2])
    with pytest.raises(DataError, match="conditional"):
        gan.generate(z)
    # inside the graph (the generator itself, as exported): the LabelCheck layer names the range
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 10\)"):
        gan.generator([z, np.array([10], "int32")])
    info = kgan.models.build_gan(make_cfg("infogan", options={"categorical": 3}))
    with pytest.raises(DataError, match=r"code_cat.*\[0, 3\)"):
        info.generate(z, {"code_cat": [3], "code_cont": np.zeros((1, 2), "float32")})
    with pytest.raises(DataError, match="code_cont"):
        info.generate(z, {"code_cat": [0], "code_cont": np.zeros((1, 3), "float32")})


def test_classes_and_codes_change_the_output():
    gan = kgan.models.build_gan(make_cfg("cgan", num_classes=K, options={"conditioning": "concat"}))
    assert isinstance(gan, CGAN)
    z = np.repeat(np.random.default_rng(0).normal(size=(1, LATENT)).astype("float32"), 2, axis=0)
    out = np.asarray(gan.generate(z, [0, 1]))
    assert not np.allclose(out[0], out[1])
    info = kgan.models.build_gan(make_cfg("infogan", options={"categorical": 3, "continuous": 1}))
    assert isinstance(info, InfoGAN)
    a = np.asarray(info.generate(z, {"code_cat": [0, 2], "code_cont": np.zeros((2, 1), "float32")}))
    assert not np.allclose(a[0], a[1])
    assert isinstance(kgan.models.build_gan(make_cfg("acgan", num_classes=K)), ACGAN)
    assert sorted(info.discriminator.output.keys()) == ["logits", "q_cat_logits", "q_log_std", "q_mean"]


def test_acgan_aux_loss_reaches_the_d_loss():
    """With the adversarial part fixed by zero-initialized logits, aux_weight scales the D loss."""
    losses = {}
    for w in (0.0, 1.0):
        cfg = make_cfg("acgan", num_classes=K, options={"aux_weight": w}, d_lr=0.0, g_lr=0.0)
        losses[w] = fit(build(cfg), cfg, steps=1)["d_loss"]
    # two cross-entropies (real and fake) of ~ln(10) each at initialization
    assert 2 * np.log(K) * 0.5 < losses[1.0] - losses[0.0] < 2 * np.log(K) * 1.5


def test_keras_save_roundtrip(tmp_path):
    for cfg in (make_cfg("acgan", num_classes=K, options={"tricks": ["minibatch_stddev", "spectral_norm"]}),
                make_cfg("infogan", options={"tricks": ["virtual_batch_norm"]})):
        gan = build(cfg)
        fit(gan, cfg, steps=1)
        gan.save(tmp_path / "m.keras")
        again = keras.models.load_model(tmp_path / "m.keras")
        assert type(again) is type(gan)
        z = np.random.default_rng(0).normal(size=(2, LATENT)).astype("float32")
        labels = [1, 2] if gan.num_classes else {"code_cat": [1, 2], "code_cont": np.zeros((2, 2), "float32")}
        np.testing.assert_allclose(np.asarray(again.generate(z, labels)), np.asarray(gan.generate(z, labels)),
                                   rtol=1e-5, atol=1e-5)


def _module(gan, tmp_path):
    from kgan.export import signatures

    module = signatures.GeneratorModule(gan, {"name": "t"})
    signatures.save(module, tmp_path)
    return tf.saved_model.load(str(tmp_path))


def test_cgan_export_has_label_input(tmp_path):
    gan = kgan.models.build_gan(make_cfg("cgan", num_classes=K))
    loaded = _module(gan, tmp_path)
    fn = loaded.signatures["serving_default"]
    assert set(fn.structured_input_signature[1]) == {"z", "label"}
    z = tf.constant(np.repeat(np.random.default_rng(0).normal(size=(1, LATENT)), 2, axis=0), tf.float32)
    out = fn(z=z, label=tf.constant([0, 7], tf.int32))["images_float"].numpy()
    assert not np.allclose(out[0], out[1])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"\[0, 10\)"):
        fn(z=z[:1], label=tf.constant([10], tf.int32))


def test_infogan_export_has_code_inputs(tmp_path):
    from kgan.export import serving

    gan = kgan.models.build_gan(make_cfg("infogan", options={"categorical": 4, "continuous": 2}))
    loaded = _module(gan, tmp_path)
    spec = loaded.signatures["serving_default"].structured_input_signature[1]
    assert set(spec) == {"z", "code_cat", "code_cont"}
    assert spec["code_cat"].dtype == tf.int32 and spec["code_cont"].shape.as_list() == [None, 2]
    z = tf.zeros((2, LATENT))
    out = loaded.signatures["serving_default"](z=z, code_cat=tf.constant([0, 3]),
                                               code_cont=tf.zeros((2, 2)))["images"].numpy()
    assert out.shape == (2, RES, RES, 1) and not np.array_equal(out[0], out[1])
    s = loaded.signatures["sample"]
    a = s(num_samples=tf.constant(3), seed=tf.constant(1), truncation=tf.constant(1.0))["images"].numpy()
    b = s(num_samples=tf.constant(3), seed=tf.constant(1), truncation=tf.constant(1.0))["images"].numpy()
    np.testing.assert_array_equal(a, b)
    warm = list(serving.warmup_inputs(gan.inference_inputs(), 2))
    assert set(warm[0]) == {"z", "code_cat", "code_cont"}
    loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in warm[0].items()})


def test_conditional_metrics_and_traversal(tmp_path):
    from kgan.gallery import codes
    from kgan.imageio import to_uint8
    from kgan.metrics.conditional import code_purity, conditional_report, matching_accuracy
    from kgan.metrics.features import FeatureExtractor

    class Oracle(FeatureExtractor):  # "classifies" by mean brightness bucket: deterministic, no training
        name, num_classes = "oracle", K
        details = {"name": "oracle", "resize": "none"}

        def _forward(self, images):
            m = images.reshape(len(images), -1).mean(axis=1) / 256.0
            p = np.eye(K)[np.minimum((m * K).astype(int), K - 1)]
            return images.reshape(len(images), -1)[:, :4].astype("float32"), p

    gan = kgan.models.build_gan(make_cfg("cgan", num_classes=K))
    rep = conditional_report(gan, Oracle(), n_per_class=4)
    assert rep["num_samples"] == 4 * K and len(rep["per_class_accuracy"]) == K
    assert 0.0 <= rep["accuracy"] <= 1.0 and np.sum(rep["confusion"]) == 4 * K
    acc, match = matching_accuracy(np.array([[0, 5], [4, 1]]))
    assert acc == 0.9 and match == [(0, 1), (1, 0)]
    info = kgan.models.build_gan(make_cfg("infogan", options={"categorical": 3, "continuous": 1}))
    pur = code_purity(info, Oracle(), n_per_code=5)
    assert 0.0 < pur["purity"] <= pur["majority_purity"] <= 1.0
    grids = codes.traversal_grids(info.inference_inputs(), lambda x: to_uint8(info.infer(x)), rows=2, steps=3)
    assert grids["code_cat"][0].shape == (2 * 3, RES, RES, 1) and grids["code_cont_0"][0].shape == (2 * 3, RES, RES, 1)


@pytest.mark.parametrize("name,k,options", [("cgan", K, {}), ("acgan", K, {}),
                                             ("infogan", 0, {"categorical": 3, "continuous": 2})])
def test_conditional_models_train_through_a_run_directory(tmp_path, name, k, options):
    """The path `kgan train` and the pipeline take (snapshots from fixed z, checkpoints, model.keras)."""
    import kgan.training

    cfg = make_cfg(name, num_classes=k, options=options).replace(
        **{"data.limit": 64, "data.source": "mnist", "train.steps": 2, "train.snapshot_every": 1})
    gan = kgan.training.train(cfg, tmp_path / "run", verbose=False)
    assert kgan.training.read_run_info(tmp_path / "run")["step"] == 2
    with np.load(tmp_path / "run" / "snapshots" / "step_0000002.npz") as npz:
        assert npz["images"].shape == (64, RES, RES, 1)
    labels = np.array([0, k - 1], "int32") if k else None  # numpy z and labels, as a user passes them
    assert np.asarray(gan.generate(np.zeros((2, gan.latent_dim), "float32"), labels)).shape == (2, RES, RES, 1)

    # The pipeline's Evaluate stage scores the export: it must feed labels and codes to serving_default.
    from kgan.export import export_run
    from kgan.metrics import generator_from_path

    version = export_run(tmp_path / "run", name, base=tmp_path / "saved_models")
    served = generator_from_path(version)
    assert (served.latent_dim, served.num_classes) == (LATENT, k)
    z = np.random.default_rng(0).standard_normal((4, LATENT)).astype("float32")
    y = np.array([0, 1, 2, 0], "int32") if k else None
    if name != "infogan":  # InfoGAN's continuous codes are random per call; the others are deterministic
        np.testing.assert_allclose(served.images(z, y), np.asarray(gan.generate(z, y)), atol=1e-5)
    assert served.images(z, y).shape == (4, RES, RES, 1)


def test_gallery_renders_from_an_infogan_export(tmp_path):
    """An export whose serving_default needs latent codes still renders (samples drawn with codes)."""
    import kgan.training
    from kgan.export import export_run
    from kgan.gallery import render_gallery

    cfg = make_cfg("infogan", options={"categorical": 3, "continuous": 2}).replace(
        **{"data.limit": 64, "train.steps": 1})
    kgan.training.train(cfg, tmp_path / "run", verbose=False)
    version = export_run(tmp_path / "run", "info", base=tmp_path / "saved_models")
    out = tmp_path / "gallery"
    render_gallery(version, out, data="mnist")
    assert (out / "index.html").is_file()
