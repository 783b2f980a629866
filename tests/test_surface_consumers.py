"""Export, serving, gallery and metrics read a model only through its declared inference surface.

The models here are not GANs: a tiny functional network wrapped in the minimal object the surface
asks for (`inference_inputs`, `inference_network`, `infer`, `target_feature`), so nothing downstream
can lean on a GAN attribute or a model name.
"""

import json
import re
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from kgan.models import surface

RES = 8
REPO = Path(__file__).resolve().parents[1]


class Declared:
    """The smallest object with the declared inference surface."""

    def __init__(self, specs, network, target_feature=None):
        self.specs, self.network, self.target_feature = list(specs), network, target_feature

    def inference_inputs(self):
        return list(self.specs)

    def inference_network(self):
        return self.network

    def infer(self, inputs, training=False):
        return surface.call_network(self.network, surface.check_inputs(self.specs, inputs), training)


def _noise_model():
    """z normal (4,) + style categorical (3 values) + mix uniform (2,) in [0, 1] -> 8x8x1 images."""
    keras.utils.set_random_seed(0)
    z = keras.Input((4,), name="z")
    style = keras.Input((), dtype="int32", name="style")
    mix = keras.Input((2,), name="mix")
    h = keras.layers.Concatenate()([z, keras.layers.Embedding(3, 4)(style), mix])
    out = keras.layers.Reshape((RES, RES, 1))(keras.layers.Dense(RES * RES, activation="tanh")(h))
    specs = [surface.InputSpec("z", "normal", (4,)), surface.InputSpec("style", "categorical", classes=3),
             surface.InputSpec("mix", "uniform", (2,), low=0.0, high=1.0)]
    return Declared(specs, keras.Model([z, style, mix], out))


def _image_model():
    """An image-to-image model: `image` (from the data feature "source") -> an 8x8x1 image; target "target"."""
    keras.utils.set_random_seed(0)
    image = keras.Input((RES, RES, 1), name="image")
    out = keras.layers.Conv2D(1, 3, padding="same", activation="tanh")(image)
    specs = [surface.InputSpec("image", "image", (RES, RES, 1), feature="source")]
    return Declared(specs, keras.Model(image, out), target_feature="target")


def _export(model, path: Path, warmup: int = 3, data: dict | None = None) -> Path:
    from kgan.export import build_version, surface_metadata

    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"name": path.parent.name, "model": "made-up", **surface_metadata(model)}
    return build_version(model, meta, path, warmup, data)


def _warmup_requests(version: Path) -> list:
    from tensorflow_serving.apis import prediction_log_pb2

    logs = []
    for record in tf.data.TFRecordDataset(str(version / "assets.extra" / "tf_serving_warmup_requests")):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        logs.append(log.predict_log.request)
    return logs


def test_a_made_up_noise_surface_exports_serves_samples_and_warms_up(tmp_path):
    from kgan.export import read_metadata
    from kgan.export.served import ServedModel
    from kgan.metrics.sources import generator_from_path

    model = _noise_model()
    version = _export(model, tmp_path / "noise" / "1")
    assert [p.name for p in version.parent.iterdir()] == ["1"]  # nothing left beside the version
    loaded = tf.saved_model.load(str(version))
    assert set(loaded.signatures) == {"serving_default", "sample", "metadata"}
    spec = loaded.signatures["serving_default"].structured_input_signature[1]
    assert {k: (v.dtype, v.shape.as_list()) for k, v in spec.items()} == {
        "z": (tf.float32, [None, 4]), "style": (tf.int32, [None]), "mix": (tf.float32, [None, 2])}

    inputs = surface.fixed_inputs(model.inference_inputs(), 5, seed=3)
    served = loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in inputs.items()})
    np.testing.assert_allclose(served["images_float"].numpy(), np.asarray(model.infer(inputs)), atol=1e-5)

    # `sample` draws every declared input in the graph: input i from Philox [seed, i], styles cycling
    out = loaded.signatures["sample"](num_samples=tf.constant(5), seed=tf.constant(9), truncation=tf.constant(1.0))
    drawn = {k: v.numpy() for k, v in surface.draw_graph(model.inference_inputs(), 5, tf.constant(9),
                                                          tf.constant(1.0)).items()}
    np.testing.assert_array_equal(drawn["style"], [0, 1, 2, 0, 1])
    assert drawn["mix"].min() >= 0.0 and drawn["mix"].max() <= 1.0
    np.testing.assert_allclose(out["images_float"].numpy(), np.asarray(model.infer(drawn)), atol=1e-5)

    requests = _warmup_requests(version)
    assert len(requests) == 3
    for i, request in enumerate(requests):
        assert request.model_spec.signature_name == "serving_default"
        values = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        assert set(values) == {"z", "style", "mix"}
        assert values["z"].shape == (1, 4) and values["mix"].shape == (1, 2) and values["style"].tolist() == [i]
        loaded.signatures["serving_default"](**{k: tf.constant(v) for k, v in values.items()})  # servable

    meta = read_metadata(version)
    assert surface.specs_from_json(meta["inputs"]) == model.inference_inputs()
    assert meta["target_feature"] is None and meta["signatures"] == ["serving_default", "sample", "metadata"]
    assert (meta["latent_dim"], meta["num_classes"], meta["height"], meta["channels"]) == (4, 0, RES, 1)
    assert ServedModel(version).specs == model.inference_inputs()
    generator = generator_from_path(version)  # metrics feed the export through the same declaration
    assert generator.latent_dim == 4 and generator.num_classes == 0
    batches = list(generator.batches(6, 4, seed=1))
    assert [b.shape for b in batches] == [(4, RES, RES, 1), (2, RES, RES, 1)] and batches[0].dtype == np.uint8


def test_an_image_input_surface_has_no_sample_and_renders_input_output_target(tmp_path):
    from kgan.errors import DataError, ExportError
    from kgan.export import read_metadata, sample_from_export
    from kgan.gallery import render_gallery
    from kgan.metrics.sources import generator_from_path
    from kgan.sampling import open_sampler

    from kgan.imageio import to_uint8

    model = _image_model()
    examples = np.random.default_rng(5).uniform(-1, 1, (2, RES, RES, 1)).astype("float32")
    version = _export(model, tmp_path / "pix" / "1", warmup=2, data={"source": examples})
    loaded = tf.saved_model.load(str(version))
    assert set(loaded.signatures) == {"serving_default", "serving_float", "metadata"}
    for name, dtype in (("serving_default", tf.uint8), ("serving_float", tf.float32)):
        spec = loaded.signatures[name].structured_input_signature[1]
        assert list(spec) == ["image"] and spec["image"].dtype == dtype
        assert spec["image"].shape.rank is None  # open, so that the graph's own check can name the shape
    meta = read_metadata(version)
    assert meta["target_feature"] == "target"
    assert meta["signatures"] == ["serving_default", "serving_float", "metadata"] and meta["latent_dim"] == 0
    requests = [tf.make_ndarray(r.inputs["image"]) for r in _warmup_requests(version)]
    np.testing.assert_array_equal(np.concatenate(requests), to_uint8(examples))  # the data's rows, as uint8
    with pytest.raises(DataError, match="input 'image': comes from the data feature 'source'"):
        _export(model, tmp_path / "nodata" / "1", warmup=1)

    with pytest.raises(ExportError, match=r"no 'sample' signature.*\['image'\] come from data"):
        sample_from_export(version, 2)
    with pytest.raises(DataError, match=r"needs data inputs image \(data feature 'source'\)"):
        open_sampler(version)
    generator = generator_from_path(version)
    with pytest.raises(DataError, match=r"data features \['source'\]"):
        next(generator.batches(2, 2))
    rng = np.random.default_rng(0)
    rows = {"source": rng.uniform(-1, 1, (4, RES, RES, 1)).astype("float32")}
    assert next(generator.batches(4, 4, data=iter([rows]))).shape == (4, RES, RES, 1)

    features = {**rows, "target": rng.integers(0, 256, (4, RES, RES, 1), dtype=np.uint8)}
    index = render_gallery(version, tmp_path / "gallery", features=features, scale=1)
    text = index.read_text()
    sections = re.findall(r'<section id="([^"]+)"', text)
    assert "paired" in sections and not {"samples", "walks", "truncation", "classes", "codes"} & set(sections)
    assert "Random samples: the inputs [&#x27;image&#x27;] come from data" in text  # named, not silently dropped
    from PIL import Image

    with Image.open(index.parent / "paired.png") as im:  # 4 rows of image | output | target
        assert im.size == (3 * RES, 4 * RES)
        grid = np.asarray(im)
    np.testing.assert_array_equal(grid[:RES, 2 * RES:].reshape(RES, RES, -1)[..., :1], features["target"][0])
    assert "image | output | target" in text


def test_no_model_special_cases_outside_the_models_package():
    """Consumers read the declaration; only kgan/models/ may know a family's inputs by name."""
    pattern = re.compile(r"code_cat|code_cont|code_specs|code_sampler|infogan", re.I)
    files = [p for p in (REPO / "kgan").rglob("*.py") if "models" not in p.relative_to(REPO / "kgan").parts[:1]]
    assert REPO / "kgan" / "tasks.py" in files  # the Luigi tasks too
    offenders = [f"{p.relative_to(REPO)}:{i}" for p in files
                 for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert files and offenders == []


def test_fixed_inputs_file_round_trips_and_refuses_a_foreign_one(tmp_path):
    from kgan.errors import CheckpointError
    from kgan.runs import RunLayout, load_or_create_fixed_inputs

    specs = _noise_model().inference_inputs()
    layout = RunLayout(tmp_path / "run")
    first = load_or_create_fixed_inputs(layout, specs, 6, seed=2)
    assert sorted(np.load(layout.fixed_inputs).files) == ["mix", "style", "z"]
    again = load_or_create_fixed_inputs(layout, specs, 6, seed=99)  # read back, not redrawn
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    np.testing.assert_array_equal(first["style"], [0, 1, 2, 0, 1, 2])
    with pytest.raises(CheckpointError, match="fixed_inputs.npz: does not fit"):
        load_or_create_fixed_inputs(layout, specs[:1], 6, seed=2)
