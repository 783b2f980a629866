"""kgan.latent_tools and `kgan latent`: projection, morphing, vector arithmetic and steering on a run and an export."""

import re

import numpy as np
import pytest

import kgan.config
import kgan.training
from conftest import cli
from kgan.latent_tools import arithmetic as arith
from kgan.latent_tools.distance import make_distance
from kgan.latent_tools.judges import Judge, ink_mass
from kgan.latent_tools.morph import morph
from kgan.latent_tools.project import project
from kgan.latent_tools.space import from_model, from_served, open_latent_model
from kgan.latent_tools.steer import steer


@pytest.fixture(scope="module")
def run(tmp_path_factory, tiny_digits):
    """A tiny DCGAN trained 20 steps, with an evaluation classifier (1 epoch) at RUN/classifier.keras."""
    from kgan.metrics import train_classifier

    cfg = kgan.config.from_dict({
        "name": "latent-tiny", "seed": 0, "model": {"name": "dcgan", "width": 8, "latent_dim": 8},
        "data": {"source": "mnist", "limit": 256, "batch_size": 16},
        "train": {"steps": 20, "checkpoint_every": 20, "snapshot_every": 20, "log_every": 10, "ema": 0.0}})
    path = tmp_path_factory.mktemp("latent") / "run"
    kgan.training.train(cfg, path, verbose=False)
    train_classifier(tiny_digits["images"], tiny_digits["labels"], 1, path / "classifier.keras", seed=1)
    return path


@pytest.fixture(scope="module")
def lm(run):
    return open_latent_model(run)


@pytest.fixture(scope="module")
def judge(run, lm):
    return Judge(run / "classifier.keras", lm.image_shape)


def test_projection_recovers_a_generated_image_from_a_nearby_start(lm):
    truth = lm.draw(3, 7)
    targets = lm.images(truth)
    start = truth["z"] + 0.5 * np.random.default_rng(0).standard_normal(truth["z"].shape).astype(np.float32)
    before = np.mean(np.square(lm.images({"z": start}) - targets), axis=(1, 2, 3))
    result = project(lm, targets, make_distance(lm.image_shape), starts=1, steps=100, lr=0.05, initial=start)
    assert np.all(result.pixel_mse < 1e-2 * before) and result.pixel_mse.max() < 1e-6
    np.testing.assert_allclose(result.images, lm.images(result.inputs), atol=1e-6)  # reconstructions of the points
    np.testing.assert_allclose(result.error, result.pixel_mse, rtol=1e-3, atol=1e-9)  # pixels only: d = MSE


def test_distance_is_per_image_pixels_plus_features(run, tiny_digits):
    from kgan.perceptual import perceptual_distance

    x = tiny_digits["images"][:4].astype(np.float32) / 127.5 - 1.0
    y = tiny_digits["images"][4:8].astype(np.float32) / 127.5 - 1.0
    pixels = make_distance((28, 28, 1))
    both = make_distance((28, 28, 1), f"classifier:{run / 'classifier.keras'}", pixel_weight=2.0, feature_weight=0.5)
    np.testing.assert_allclose(np.asarray(pixels(x, y)), np.mean(np.square(x - y), axis=(1, 2, 3)), rtol=1e-5)
    alone = np.concatenate([np.asarray(both(x[i:i + 1], y[i:i + 1])) for i in range(4)])
    np.testing.assert_allclose(np.asarray(both(x, y)), alone, rtol=1e-5)  # no example affects another's distance
    features = (np.asarray(both(x, y)) - 2.0 * np.asarray(pixels(x, y))) / 0.5
    np.testing.assert_allclose(features.mean(), float(perceptual_distance(both.features, x, y)), rtol=1e-4)
    assert np.all(features > 0) and np.asarray(both(x, x)).max() < 1e-10
    with pytest.raises(kgan.errors.UsageError, match="--features: 'vgg' is not allowed"):
        make_distance((28, 28, 1), "vgg")


class DigitMixer:
    """A constructed generator: z (10) -> softmax(3 z)-weighted mix of ten real digits, one per class."""

    target_feature = None

    def __init__(self, digits):
        import keras

        z = keras.Input((10,), name="z")
        weights = keras.layers.Softmax()(keras.layers.Rescaling(3.0)(z))
        basis = keras.layers.Dense(28 * 28, use_bias=False, trainable=False, name="digits")
        mix = basis(weights)
        basis.set_weights([digits.reshape(10, -1).astype(np.float32) / 127.5 - 1.0])
        self.network = keras.Model(z, keras.layers.Reshape((28, 28, 1))(mix))

    def inference_inputs(self):
        from kgan.models.surface import InputSpec

        return [InputSpec("z", "normal", (10,))]

    def inference_network(self):
        return self.network


def test_projection_from_random_starts_keeps_the_classifier_label(run, judge, tiny_digits):
    images, labels = tiny_digits["images"], tiny_digits["labels"]
    mixer = from_model(DigitMixer(images[[int(np.flatnonzero(labels == k)[0]) for k in range(10)]]))
    rng = np.random.default_rng(5)
    truth = {"z": (rng.standard_normal((8, 10)) + 2.5 * np.eye(10)[rng.permutation(10)[:8]]).astype(np.float32)}
    targets = mixer.images(truth)
    distance = make_distance(mixer.image_shape, f"classifier:{run / 'classifier.keras'}")
    result = project(mixer, targets, distance, starts=3, steps=100, lr=0.1, seed=3)
    assert result.candidates == 3
    starts = mixer.draw(8 * 3, 3)["z"].reshape(8, 3, 10)
    assert np.linalg.norm(starts - result.inputs["z"][:, None], axis=-1).min() > 0.5  # moved away from every start
    assert result.pixel_mse.mean() < 0.01
    np.testing.assert_array_equal(judge.labels(result.images)[0], judge.labels(targets)[0])


def test_projection_searches_class_labels_unless_fixed():
    import keras

    from kgan.models import build_gan

    cfg = kgan.config.from_dict({"name": "cgan", "seed": 0, "model": {"name": "cgan", "width": 8, "latent_dim": 4,
                                                                      "num_classes": 10},
                                 "data": {"source": "mnist", "limit": 64, "batch_size": 8}})
    keras.utils.set_random_seed(0)
    cgan = from_model(build_gan(cfg))
    assert [s.name for s in cgan.others] == ["label"]
    truth = {"z": cgan.draw(2, 1)["z"], "label": np.array([3, 8], np.int32)}
    targets = cgan.images(truth)
    distance = make_distance(cgan.image_shape)
    searched = project(cgan, targets, distance, starts=1, steps=40, lr=0.05, initial=truth["z"])
    assert searched.candidates == 10
    np.testing.assert_array_equal(searched.inputs["label"], [3, 8])
    fixed = project(cgan, targets, distance, starts=2, steps=5, fixed={"label": 5})
    assert fixed.candidates == 2
    np.testing.assert_array_equal(fixed.inputs["label"], [5, 5])
    grouped = project(cgan, targets, distance, starts=2, steps=5, fixed={"label": 5}, max_rows=2)  # a target a group
    np.testing.assert_allclose(grouped.inputs["z"], fixed.inputs["z"], atol=1e-6)
    with pytest.raises(kgan.errors.UsageError, match="fixed input 'z'"):
        project(cgan, targets, distance, fixed={"z": 1})


def test_morph_ends_exactly_at_both_points(lm):
    a, b = lm.draw(2, 4), lm.draw(2, 5)
    a, b = {"z": a["z"][:1]}, {"z": b["z"][1:]}
    for method in ("spherical", "linear"):
        points, images = morph(lm, a, b, 7, method)
        np.testing.assert_array_equal(points["z"][0], a["z"][0])
        np.testing.assert_allclose(points["z"][-1], b["z"][0], rtol=0, atol=1e-6)
        np.testing.assert_allclose(images[[0, -1]], lm.images({"z": np.concatenate([a["z"], b["z"]])}), atol=1e-5)
    spherical, _ = morph(lm, a, b, 7, "spherical")
    linear, _ = morph(lm, a, b, 7, "linear")
    assert np.linalg.norm(spherical["z"][3]) > np.linalg.norm(linear["z"][3])  # slerp does not cut the corner


def test_arithmetic_vectors_are_the_documented_means(lm, judge):
    terms = arith.parse_expression("7:thick - 7:thin + 1:thin")
    assert [(s, str(c)) for s, c in terms] == [(1.0, "7:thick"), (-1.0, "7:thin"), (1.0, "1:thin")]
    assert [str(c) for _, c in arith.parse_expression("3 + :bright")] == ["3", ":bright"]
    # a barely trained model: the class the classifier sees most, the other term from the whole pool
    pool = lm.draw(300, 2)
    labels, confidence = judge.labels(lm.images(pool))
    common = int(np.bincount(labels).argmax())
    terms = arith.parse_expression(f"{common}:thick - {common}:thin + :bright")
    floor = float(np.sort(confidence[labels == common])[-6])  # keeps at least six of the class
    result = arith.arithmetic(lm, judge, terms, exemplars=3, pool=300, seed=2, min_confidence=floor)
    ink = np.asarray(ink_mass(result.pool_images))
    np.testing.assert_array_equal(result.pool["z"], pool["z"])
    want = []
    for (sign, concept), term in zip(terms, result.terms):
        members = np.arange(300) if concept.label is None else np.flatnonzero((labels == concept.label)
                                                                              & (confidence >= floor))
        key = {"thick": ink, "bright": ink, "thin": -ink, None: confidence}[concept.attribute][members]
        expected = members[np.argsort(-key, kind="stable")[:3]]
        np.testing.assert_array_equal(term.exemplars, expected)
        np.testing.assert_allclose(term.vector, pool["z"][expected].mean(axis=0), rtol=1e-6)
        want.append(sign * pool["z"][expected].mean(axis=0))
    np.testing.assert_allclose(result.result["z"][0], want[0] + want[1] + want[2], rtol=1e-5, atol=1e-6)
    assert ink[result.terms[0].exemplars].min() >= ink[result.terms[1].exemplars].max()  # thick above thin
    images, cols = arith.grid(lm, result, variations=2)
    assert cols == 4 and images.shape[0] == 4 * 4
    with pytest.raises(kgan.errors.DataError, match="only"):
        arith.arithmetic(lm, judge, arith.parse_expression(f"{common}"), exemplars=50, pool=20)


@pytest.mark.parametrize("bad", ["7 +", "7:wide", "seven", ""])
def test_arithmetic_expression_errors_name_the_expression(bad):
    with pytest.raises(kgan.errors.UsageError, match="expression"):
        arith.parse_expression(bad)


def test_steering_raises_the_target_probability_within_the_bound(lm, judge):
    start = lm.draw(4, 9)
    labels, _ = judge.labels(lm.images(start))
    target = str(int(np.bincount(labels, minlength=judge.num_classes).argmin()))  # the rarest class
    result = steer(lm, judge, target, start, step=0.3, max_distance=1.5, steps=8)
    assert result.path.shape == (4, 9, 8) and result.images.shape[:2] == (4, 9)
    np.testing.assert_array_equal(result.path[:, 0], start["z"])
    assert np.all(result.scores[:, -1] > result.scores[:, 0])  # log p(target) rose for every start
    assert np.linalg.norm(result.path - result.path[:, :1], axis=-1).max() <= 1.5 + 1e-4
    thick = steer(lm, judge, "thick", start, step=0.3, max_distance=3.0, steps=4)
    assert np.all(thick.scores[:, -1] > thick.scores[:, 0])


def test_an_export_serves_the_latent_tools_like_its_run(run, lm, tmp_path):
    from kgan.export import export_run

    exported = open_latent_model(export_run(run, "latent-tiny", tmp_path))
    assert exported.latent == lm.latent
    truth = lm.draw(2, 3)
    targets = lm.images(truth)
    np.testing.assert_allclose(exported.images(truth), targets, atol=1e-5)
    via_run = project(lm, targets, make_distance(lm.image_shape), starts=2, steps=10, seed=1)
    via_export = project(exported, targets, make_distance(lm.image_shape), starts=2, steps=10, seed=1)
    np.testing.assert_allclose(via_export.inputs["z"], via_run.inputs["z"], atol=1e-4)  # same gradients


class MappedToy:
    """A model with an intermediate latent w = mapping(z) (StyleGAN's shape): the latent tools work in w."""

    target_feature = None

    def __init__(self):
        import keras

        z, w = keras.Input((4,), name="z"), keras.Input((6,), name="w")
        self.mapping = keras.Model(z, keras.layers.Dense(6, name="to_w")(z), name="mapping")
        image = keras.layers.Reshape((8, 8, 1))(keras.layers.Dense(64, activation="tanh", name="render")(w))
        self.synthesis = keras.Model(w, image, name="synthesis")
        self.network = keras.Model(z, self.synthesis(self.mapping(z)), name="generator")

    def inference_inputs(self):
        from kgan.models.surface import InputSpec

        return [InputSpec("z", "normal", (4,))]

    def inference_network(self):
        return self.network

    def intermediate_latent(self):
        from kgan.models.surface import IntermediateLatent

        return IntermediateLatent("w", (6,), "z", (), self.mapping, self.synthesis)


def test_an_intermediate_latent_is_projected_into_through_the_export(tmp_path):
    import keras

    from kgan.export import build_version, surface_metadata
    from kgan.export.served import ServedModel

    keras.utils.set_random_seed(0)
    toy = MappedToy()
    version = build_version(toy, {"name": "toy", **surface_metadata(toy)}, tmp_path / "1", 0)
    served = ServedModel(version)
    assert {"mapping", "synthesis"} <= set(served.model.signatures)
    assert served.metadata["latent"] == {"input": {**served.metadata["latent"]["input"], "name": "w"},
                                         "mapped": True, "network_inputs": ["w"]}
    for space in (from_model(toy), from_served(served)):
        assert space.latent.name == "w" and space.latent.shape == (6,)
        z = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
        np.testing.assert_allclose(space.to_space({"z": z})["w"], np.asarray(toy.mapping(z)), atol=1e-5)
        targets = np.asarray(toy.network(z))
        result = project(space, targets, make_distance((8, 8, 1)), starts=2, steps=150, lr=0.1)
        assert result.inputs["w"].shape == (3, 6)
        assert result.pixel_mse.max() < 1e-4


# ----------------------------------------------------------------------------- CLI
def test_cli_project_morph_arithmetic_steer(run, lm, tmp_path):
    from kgan.imageio import to_uint8, write_grid_png

    truth = lm.draw(2, 5)
    for i, image in enumerate(to_uint8(lm.images(truth))):
        write_grid_png(image[None], tmp_path / f"t{i}.png")
    out = tmp_path / "proj"
    r = cli("latent", "project", run, tmp_path / "t0.png", tmp_path / "t1.png", "--out", out, "--steps", "30",
            "--starts", "2")
    assert r.returncode == 0, r.stderr
    assert "classifier:" in r.stdout and len(re.findall(r"image \d: distance", r.stdout)) == 2
    with np.load(out / "points.npz") as f:
        assert f["z"].shape == (2, 8) and f["error"].shape == (2,)
    assert (out / "projection.png").is_file()
    r = cli("latent", "morph", run, out / "points.npz", out / "points.npz", "--rows", "0", "1", "--frames", "5",
            "--out", tmp_path / "morph.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "morph.png").is_file() and "projected" not in r.stdout
    r = cli("latent", "arithmetic", run, ":thick - :thin + :bright", "--pool", "50", "--out", tmp_path / "a.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").is_file()
    r = cli("latent", "steer", run, "--target", "thick", "--n", "2", "--steps", "3", "--out", tmp_path / "s.png")
    assert r.returncode == 0, r.stderr
    assert len(re.findall(r"start \d: score of thick", r.stdout)) == 2


def test_cli_errors_are_one_line_with_exit_2(run, tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((32, 32), np.uint8)).save(tmp_path / "big.png")
    cases = {
        ("project", run, tmp_path / "missing.png"): "missing.png: no such",
        ("project", run, tmp_path / "big.png", "--out", tmp_path / "o"): "shaped [32, 32, 1]; the model makes [28, 28, 1]",
        ("arithmetic", run, "7 + + 1"): "expected terms",
        ("steer", run, "--target", "12"): "classes 0..9",
        ("steer", tmp_path / "nowhere", "--target", "thick"): "no such run directory",
        ("morph", run, tmp_path / "missing.npz", tmp_path / "big.png"): "missing.npz: no such",
    }
    for args, message in cases.items():
        r = cli("latent", *args)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
