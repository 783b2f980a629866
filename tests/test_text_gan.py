"""text_gan and the text feature: captions, measured attributes, GAN-CLS, string serving, metrics, gallery."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kgan.data import attributes, captions
from kgan.errors import ConfigError, DataError

TINY = {"name": "tinytext", "data": {"source": "mnist", "limit": 160, "batch_size": 16, "captions": "attributes",
                                     "holdout": 0.2},
        "model": {"name": "text_gan", "width": 4, "latent_dim": 4,
                  "options": {"embed_dim": 8, "text_dim": 8, "encoder_width": 4, "max_length": 32,
                              "interpolation": 1.0, "augmentation": True, "projection": True}},
        "train": {"steps": 2, "checkpoint_every": 2, "snapshot_every": 2, "log_every": 2},
        "export": {"warmup_requests": 2}}


def _bar(width: int, slope: float = 0.0, size: int = 28) -> np.ndarray:
    """A white vertical bar of `width` pixels on black, its top shifted right by `slope` per row upward."""
    image = np.zeros((size, size), np.uint8)
    for row in range(4, size - 4):
        centre = size / 2 + slope * (size / 2 - row)
        image[row, int(round(centre - width / 2)):int(round(centre + width / 2))] = 255
    return image


# ----- attributes and captions (no TensorFlow) ----------------------------------------------------------------
def test_attribute_measures_on_hand_made_images():
    thin, thick = _bar(2), _bar(6)
    t = attributes.thickness(np.stack([thin, thick]))
    assert t[1] > t[0] > 0
    right, left, upright = _bar(3, 0.4), _bar(3, -0.4), _bar(3)
    s = attributes.slant(np.stack([right, left, upright]))
    assert s[0] > 0.2 and s[1] < -0.2 and abs(s[2]) < 0.05
    small = np.zeros((28, 28), np.uint8)
    small[10:16, 12:15] = 255
    assert attributes.size(np.stack([small, thick]))[0] < attributes.size(np.stack([small, thick]))[1]
    # the same image at 56 px measures alike (units of a 28-pixel image)
    big = np.kron(thick, np.ones((2, 2), np.uint8))
    assert abs(attributes.thickness(big[None])[0] - t[1]) < 0.6
    assert list(attributes.bins(np.array([0.0, 2.4, 9.0]), "thickness")) == [0, 1, 2]


def test_generated_captions_name_measured_bins_and_never_a_held_out_combination():
    images = np.stack([_bar(2), _bar(6), _bar(3, 0.5), _bar(3, 0.5)])
    labels = np.array([1, 7, 8, 4])  # (7, thick) and (8, right) are held out
    generated = captions.generate(images, labels, seed=3)
    assert all(len(c) == captions.CAPTIONS_PER_IMAGE for c in generated)
    assert generated == captions.generate(images, labels, seed=3)
    measured = attributes.measured_bins(images)
    for i, group in enumerate(generated):
        for caption in group:
            digit, asked = captions.requested(caption)
            assert digit == labels[i]
            for attribute, b in asked.items():
                assert b == measured[attribute][i]
                assert not captions.is_held_out(digit, attribute, attributes.BINS[attribute][b])
    assert not any("thick" in c or "bold" in c for c in generated[1])  # the thick seven is never called thick
    with pytest.raises(DataError, match="label 11"):
        captions.generate(images[:1], [11])
    assert captions.requested("7, bold, leaning right") == (7, {"thickness": 2, "slant": 2})
    assert captions.requested("a small thin three")[1] == {"size": 0, "thickness": 0}


def test_caption_files(tmp_path):
    (tmp_path / "captions.jsonl").write_text('{"image": 0, "caption": "a cat"}\n{"image": "1", "captions": ["x", "y"]}\n')
    assert captions.read_file(tmp_path / "captions.jsonl") == {"0": ["a cat"], "1": ["x", "y"]}
    (tmp_path / "c.csv").write_text("image,caption,extra\na/b.png,first,1\na/b.png,second,2\n")
    assert captions.read_file(tmp_path / "c.csv") == {"a/b.png": ["first", "second"]}
    assert captions.beside(tmp_path / "data.npz") == tmp_path / "captions.jsonl"
    (tmp_path / "bad.jsonl").write_text('{"image": 0, "caption": "ok"}\n{"image": 1}\n')
    with pytest.raises(DataError, match="bad.jsonl:2"):
        captions.read_file(tmp_path / "bad.jsonl")
    with pytest.raises(DataError, match="no caption for image '2'"):
        captions.align({"0": ["a"], "1": ["b"]}, ["0", "1", "2"], tmp_path / "c.jsonl")


def test_config_checks_captions_and_text_gan_needs(tmp_path):
    from kgan.config import from_dict

    with pytest.raises(ConfigError, match="data.captions"):
        from_dict({"data": {"captions": "words"}})
    with pytest.raises(ConfigError, match="data.captions: text_gan learns from captions"):
        from_dict({"model": {"name": "text_gan"}})
    with pytest.raises(ConfigError, match="never downloaded"):
        from_dict({**TINY, "model": {"name": "text_gan", "options": {"encoder": f"hub:{tmp_path}/missing"}}})
    with pytest.raises(ConfigError, match="pairs or two domains"):
        from_dict({"data": {"source": "unpaired:mnist,mnist+thick", "captions": "attributes"}})


# ----- the loss ------------------------------------------------------------------------------------------------
def test_matching_aware_loss_on_fixed_logits():
    from kgan.models.text_gan import matching_aware_loss, mismatched

    real, wrong, fake = np.array([2.0, 0.0]), np.array([-1.0, 1.0]), np.array([0.5, -3.0])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    # the paper's L_D = log s_r + (log(1 - s_w) + log(1 - s_f)) / 2, negated: BCE(real, 1) + (BCE(w, 0) + BCE(f, 0)) / 2
    by_hand = softplus(-real).mean() + 0.5 * (softplus(wrong).mean() + softplus(fake).mean())
    assert float(matching_aware_loss(real, wrong, fake)) == pytest.approx(by_hand, rel=1e-6)
    assert float(matching_aware_loss(real, wrong, fake, 0.0)) == pytest.approx(
        softplus(-real).mean() + softplus(fake).mean(), rel=1e-6)
    rows = np.arange(6)
    for shift in range(1, 6):  # every mismatched caption belongs to another image of the batch
        assert not np.any(np.asarray(mismatched(rows, shift)) == rows)


def test_captions_round_trip_through_the_shards(tiny_digits, tmp_path):
    """Each record holds its example's captions (any number, any characters); training draws from them the very
    captions it draws from the source's file; the vocabulary is beside the shards, no captions file; a set
    prepared without captions, or with them beside its shards (earlier kgan), is refused with what to do."""
    from kgan.config import from_dict
    from kgan.data import shards
    from kgan.data.features import feature_dataset
    from kgan.data.text import vocabulary
    from kgan.prepare import prepare_dataset, prepared_data_config

    from conftest import assert_same_named_batches

    np.savez(tmp_path / "d.npz", x=tiny_digits["images"][:40, ..., 0], y=tiny_digits["labels"][:40])
    lists = [[f"digit {i} ({'é' * (i % 3)})", "a digit", "…"][: 1 + i % 3] for i in range(40)]
    (tmp_path / "captions.jsonl").write_text("".join(json.dumps({"image": i, "captions": c}) + "\n"
                                                     for i, c in enumerate(lists)))
    data = from_dict({**TINY, "data": {"source": f"npz:{tmp_path / 'd.npz'}", "batch_size": 4, "captions": "file",
                                       "holdout": 0.2, "shuffle_buffer": 8}}).data
    card = prepare_dataset(data, tmp_path / "prepared")
    assert card["text"]["feature"] == "text" and card["text"]["count"] == sum(map(len, lists))
    assert not (tmp_path / "prepared" / "captions.jsonl").exists()
    records = shards.encoded_records(tmp_path / "prepared").as_numpy_iterator()
    stored = {int(r["index"]): [t.decode() for t in r["text"]] for r in records}
    assert stored == dict(enumerate(lists))
    trained_on = prepared_data_config(data, tmp_path / "prepared")
    assert_same_named_batches(data, trained_on, batches=20)  # two epochs: fresh captions per epoch, drawn alike
    assert vocabulary(trained_on) == vocabulary(data)
    prepare_dataset(dataclasses.replace(data, captions=""), tmp_path / "bare")
    with pytest.raises(DataError, match="bare: data.captions = 'file' but the set was prepared without captions"):
        feature_dataset(dataclasses.replace(trained_on, source=f"shards:{tmp_path / 'bare'}"))
    old = json.loads((tmp_path / "prepared" / "card.json").read_text())
    old["text"]["file"] = "captions.jsonl"
    (tmp_path / "prepared" / "card.json").write_text(json.dumps(old))
    with pytest.raises(DataError, match="card.json: prepared with its captions in captions.jsonl.*prepare it again"):
        shards.read_card(tmp_path / "prepared")


# ----- one tiny run: data, training, serving, metrics, gallery ---------------------------------------------------
@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    from kgan.config import from_dict
    from kgan.training import train

    root = tmp_path_factory.mktemp("text_run")
    cfg = from_dict(TINY)
    train(cfg, root / "run", verbose=False)
    return {"cfg": cfg, "run": root / "run", "root": root}


def test_text_feature_draws_a_caption_of_each_example(text_run):
    from kgan.data.features import feature_dataset
    from kgan.data.text import caption_lists

    cfg = text_run["cfg"]
    lists = caption_lists(cfg.data)
    assert len(lists) == 160
    unshuffled = dataclasses.replace(cfg.data, shuffle_buffer=0)
    epochs = list(feature_dataset(unshuffled, seed=5, batch_size=16).take(16).as_numpy_iterator())
    texts = np.concatenate([b["text"] for b in epochs])
    first = [t.decode() for t in texts[:128]]  # epoch 1 (128 training examples), in order
    assert all(first[i] in lists[i] for i in range(128))
    again = np.concatenate([b["text"] for b in feature_dataset(unshuffled, seed=5, batch_size=16).take(16)])
    np.testing.assert_array_equal(texts, again)  # the same seed draws the same captions
    assert any(t != s for t, s in zip(texts[:128], texts[128:256]))  # another epoch, other captions


def test_export_serves_strings_in_a_process_without_kgan(text_run):
    import tensorflow as tf

    from kgan.export import export_run
    from kgan.training import load_run

    version = export_run(text_run["run"], "text", text_run["root"] / "models")
    text_run["export"] = version
    _, gan, _ = load_run(text_run["run"])
    z = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    texts = ["a thick seven", "2, thin, leaning left", "the digit zero"]
    expected = np.asarray(gan.infer({"z": z, "text": np.array(texts, object)}))
    # a TF Serving REST body with plain strings, through the PredictRequest proto the server builds from it
    from tensorflow_serving.apis import predict_pb2

    body = json.loads(json.dumps({"signature_name": "serving_default", "inputs": {"text": texts, "z": z.tolist()}}))
    request = predict_pb2.PredictRequest()
    for key, value in body["inputs"].items():
        request.inputs[key].CopyFrom(tf.make_tensor_proto(np.array(value, np.float32 if key == "z" else object)))
    decoded = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
    assert decoded["text"].dtype == object and decoded["text"][0] == b"a thick seven"
    np.save(text_run["root"] / "z.npy", decoded["z"])
    script = text_run["root"] / "load.py"
    script.write_text(textwrap.dedent("""
        import sys
        for blocked in ("kgan", "keras", "tf_keras"):
            sys.modules[blocked] = None
        import numpy as np, tensorflow as tf
        m = tf.saved_model.load(sys.argv[1])
        z, texts = np.load(sys.argv[2]), tf.constant(sys.argv[4:])
        f, s = m.signatures["serving_default"], m.signatures["sample"]
        out = {"a": f(text=texts, z=tf.constant(z))["images_float"].numpy(),
               "b": f(text=texts, z=tf.constant(z))["images_float"].numpy(),
               "s1": s(text=texts, seed=tf.constant(4), truncation=tf.constant(1.0))["images"].numpy(),
               "s2": s(text=texts, seed=tf.constant(4), truncation=tf.constant(1.0))["images"].numpy(),
               "s3": s(text=texts, seed=tf.constant(5), truncation=tf.constant(1.0))["images"].numpy()}
        for name in ("serving_default", "sample"):
            try:
                args = {"z": tf.zeros([0, 4])} if name == "serving_default" else {"seed": tf.constant(1),
                                                                                   "truncation": tf.constant(1.0)}
                m.signatures[name](text=tf.constant([], tf.string), **args)
                out["empty_" + name] = np.array("accepted")
            except tf.errors.InvalidArgumentError as e:
                out["empty_" + name] = np.array(e.message)
        np.savez(sys.argv[3], **out)
    """))
    proc = subprocess.run([sys.executable, str(script), str(version), str(text_run["root"] / "z.npy"),
                           str(text_run["root"] / "out.npz"), *texts], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(text_run["root"] / "out.npz")
    np.testing.assert_array_equal(out["a"], out["b"])
    np.testing.assert_allclose(out["a"], expected, atol=1e-5)
    np.testing.assert_array_equal(out["s1"], out["s2"])
    assert out["s1"].shape == (3, 28, 28, 1) and not np.array_equal(out["s1"], out["s3"])
    for name in ("serving_default", "sample"):
        assert "text: expected a batch of at least one string; got an empty batch" in str(out["empty_" + name])
    # the warm-up requests are evaluation examples with their captions
    from tensorflow_serving.apis import prediction_log_pb2

    record = next(iter(tf.data.TFRecordDataset(str(version / "assets.extra" / "tf_serving_warmup_requests"))))
    log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
    assert tf.make_ndarray(log.predict_log.request.inputs["text"])[0].decode()


def test_sample_command_takes_text_and_refuses_none(text_run, tmp_path):
    from conftest import cli

    out = cli("sample", text_run["run"], "--n", "4", "--text", "a thick seven", "--out", tmp_path / "s.npy")
    assert out.returncode == 0, out.stderr
    assert np.load(tmp_path / "s.npy").shape == (4, 28, 28, 1)
    refused = cli("sample", text_run["run"], "--n", "4", "--out", tmp_path / "t.npy")
    assert refused.returncode == 2 and "--text" in refused.stderr and "Traceback" not in refused.stderr
    from kgan.training import load_run

    _, gan, _ = load_run(text_run["run"])
    with pytest.raises(DataError, match="empty batch"):
        gan.infer({"z": np.zeros((0, 4), np.float32), "text": np.array([], object)})


def test_mismatched_captions_come_from_a_random_other_image(text_run):
    from kgan.models.terms import StepContext
    from kgan.training import load_run

    _, gan, _ = load_run(text_run["run"])
    batch = {"image": np.zeros((5, 28, 28, 1), np.float32)}
    shifts = {int(gan._shift(StepContext(gan, batch, {}, 0))) for _ in range(40)}
    assert shifts <= {1, 2, 3, 4} and len(shifts) > 1  # never the image itself, not always the same neighbour


def test_caption_metrics_and_reference_points(text_run):
    from kgan.data.features import feature_batches
    from kgan.metrics import evaluate, from_gan
    from kgan.metrics.classifier import ClassifierExtractor, train_classifier
    from kgan.training import load_run

    cfg = text_run["cfg"]
    _, gan, _ = load_run(text_run["run"])
    from kgan.data import load_arrays

    images, labels = load_arrays("mnist", limit=160)
    train_classifier(images, labels, 1, text_run["root"] / "classifier.keras")
    extractor = ClassifierExtractor(text_run["root"] / "classifier.keras")
    report = evaluate(from_gan(gan), images, extractor, metrics=["caption_consistency", "held_out_captions"], n=32,
                      batch_size=16, data=feature_batches(cfg.data, 16, seed=0, split="evaluation"), progress=False)
    mine = report["metrics"]["caption_consistency"]
    assert 0 <= mine["digit_accuracy"] <= 1 and mine["num_named"] == 32
    assert set(mine["per_attribute"]) <= set(attributes.ATTRIBUTES)
    real = report["reference_points"]["captioned_real"]["metrics"]["caption_consistency"]
    assert real["attribute_agreement"] == 1.0  # generated captions name each image's own measured bins
    held = report["metrics"]["held_out_captions"]
    assert held["num_samples"] == len(captions.HELD_OUT) * 4 * 16 and set(held["per_combination"]) == {
        f"{b} {captions.DIGITS[d]}" for d, _, b in captions.HELD_OUT}
    assert "held_out_captions" not in report["reference_points"]["captioned_real"]["metrics"]


def test_gallery_shows_caption_rows_interpolation_and_the_captions_used(text_run, tmp_path):
    from kgan.gallery import render_gallery

    for source in (text_run["run"], text_run.get("export")):
        if source is None:
            continue
        index = render_gallery(source, tmp_path / source.name, real_limit=64,
                               features=None if source == text_run["run"] else
                               {"text": np.array([b"a thin seven", b"2, bold", b"the digit one"])})
        info = json.loads((index.parent / "gallery.json").read_text())
        assert "captions" in info["sections"], info["not_shown"]
        assert {"captions.png", "caption_interpolation.png"} <= set(info["files"])
        assert "a thin seven" in index.read_text() or source == text_run["run"]
        assert "-&gt;" in index.read_text() or "->" in index.read_text()


def test_pretrained_encoder_from_a_local_hub_directory(tmp_path):
    import tensorflow as tf

    from kgan.config import from_dict
    from kgan.models import build_gan

    class Module(tf.Module):  # a TF-Hub style text module: [B] strings -> [B, 6] floats
        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, text):
            return tf.one_hot(tf.strings.to_hash_bucket_fast(text, 6), 6)

    tf.saved_model.save(Module(), str(tmp_path / "hub"))
    cfg = from_dict({**TINY, "model": {**TINY["model"], "options": {"encoder": f"hub:{tmp_path / 'hub'}",
                                                                     "text_dim": 8}}})
    gan = build_gan(cfg)
    assert gan.text_encoder.output_shape == (None, 6) and not gan.text_encoder.trainable_weights
    assert "image_encoder" not in gan.networks() and "match" not in gan.term_names()  # nothing to match
    images = np.asarray(gan.infer({"z": np.zeros((2, 4), np.float32), "text": np.array(["a seven", "a two"], object)}))
    assert images.shape == (2, 28, 28, 1) and not np.array_equal(images[0], images[1])
