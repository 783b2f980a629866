"""Evaluation, its classifier and the gallery read a prepared set streamed: the reference's statistics equal the
in-memory ones, its sample is fixed by the seed, and only the chosen images are decoded."""

import json

import numpy as np
import pytest
import tensorflow as tf

from kgan.config import DataConfig
from kgan.metrics import RunningStats, evaluate, feature_cache
from kgan.metrics.reference import from_array, from_source
from test_metrics import PixelExtractor


@pytest.fixture(scope="module")
def shards(tiny_digits, tmp_path_factory):
    """The 256 digits prepared as PNG shards, 4 files: the stream's order is not the index order."""
    from kgan import io, prepare
    from kgan.data.shards import shard_name

    root = tmp_path_factory.mktemp("prepared")
    data = DataConfig(source=f"npz:{tiny_digits['npz']}", resolution=28, channels=1, resize="none", shard_mb=1,
                      encoding="png")
    io.write_json(root / prepare.PLAN, {"count": 256, "encoding": "png", "bytes_per_example": 0, "shards": [
        {"file": shard_name(k, 4), "start": 64 * k, "stop": 64 * (k + 1)} for k in range(4)]})  # as a large set's
    card = prepare.prepare_dataset(data, root)
    assert len(card["shards"]) == 4
    return {"source": f"shards:{root}", "digest": card["sha256"], "root": root}


@pytest.fixture
def decoded(monkeypatch):
    """How many images the shards' decoder has decoded since the test began."""
    from kgan.data import shards

    seen = []
    plain = shards.decode_image

    def counting(data, encoding, shape):
        tick = tf.py_function(lambda: seen.append(1) or 0, [], tf.int32)
        with tf.control_dependencies([tick]):
            return tf.identity(plain(data, encoding, shape))

    monkeypatch.setattr(shards, "decode_image", counting)
    return seen


def _digits_generator(images):
    """A 'generator' that shows real digits (shifted by one pixel): fixed, close to the data, not equal to it."""
    from kgan.metrics import Generator

    def fn(z):
        picks = np.abs(z[:, 0] * 1000).astype(int) % len(images)
        return np.roll(images[picks], 1, axis=2).astype(np.float32) / 127.5 - 1

    return Generator.from_latent(fn, latent_dim=2)


def test_streamed_reference_statistics_equal_the_in_memory_ones(shards, tiny_digits):
    feature_cache.forget()
    ext = PixelExtractor()
    streamed = from_source(shards["source"], digest=shards["digest"])
    assert streamed.count == 256 and streamed.selection["selection"] == "all"
    got = feature_cache.features_of(ext, streamed, batch_size=50, progress=False)
    assert got["index"].tolist() == list(range(256))  # rows in index order, whatever the shards' interleave
    np.testing.assert_array_equal(got["labels"], tiny_digits["labels"])
    exact = ext.features(tiny_digits["images"]).astype(np.float64)
    stats = RunningStats()
    for i in range(0, 256, 37):  # FID's Gaussian fit accumulated batch by batch, float64
        stats.update(got["features"][i:i + 37])
    np.testing.assert_allclose(stats.mean, exact.mean(0), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(stats.cov, np.cov(exact, rowvar=False), rtol=1e-5, atol=1e-9)
    pixels = tiny_digits["images"].astype(np.float64)
    np.testing.assert_allclose(got["pixel_mean"], pixels.mean(0))
    np.testing.assert_allclose(got["pixel_std"], pixels.std(0), atol=1e-9)

    generator = _digits_generator(tiny_digits["images"])
    kw = dict(metrics="fid,kid,pr,swd", n=64, batch_size=32, num_images=16, progress=False)
    in_memory = evaluate(generator, tiny_digits["images"], ext, **kw)
    feature_cache.forget()
    report = evaluate(generator, streamed, ext, **kw)
    assert report["reference_selection"] == {"images": 256, "of": 256, "selection": "all"}
    for name in ("fid", "kid", "pr", "swd"):
        for point in ("metrics", "real_vs_real", "pixel_gaussian"):
            ours = report["metrics"] if point == "metrics" else report["reference_points"][point]["metrics"]
            theirs = in_memory["metrics"] if point == "metrics" else in_memory["reference_points"][point]["metrics"]
            numbers = {k: v for k, v in theirs[name].items() if isinstance(v, float)}
            assert numbers and {k: ours[name][k] for k in numbers} == pytest.approx(numbers, rel=1e-6, abs=1e-9), \
                (name, point)


def test_the_reference_sample_is_fixed_by_its_seed(shards, tiny_digits):
    first, again = (from_source(shards["source"], n=40, seed=3, digest=shards["digest"]) for _ in range(2))
    other = from_source(shards["source"], n=40, seed=4, digest=shards["digest"])
    assert first.count == 40 and first.selection == {"images": 40, "of": 256,
                                                     "selection": "seeded uniform sample (seed 3)"}
    assert first.chosen.tolist() == again.chosen.tolist() != other.chosen.tolist()
    assert first.key == again.key != other.key
    read = [b for b in first.batches(16)]
    index = np.concatenate([b["index"] for b in read])
    assert sorted(index.tolist()) == first.chosen.tolist()
    np.testing.assert_array_equal(np.concatenate([b["image"] for b in read]), tiny_digits["images"][index])
    np.testing.assert_array_equal(first.images_at([first.chosen[5], first.chosen[0]]),
                                  tiny_digits["images"][[first.chosen[5], first.chosen[0]]])
    assert from_array(tiny_digits["images"]).key != from_array(tiny_digits["images"], tiny_digits["labels"]).key


def test_evaluation_decodes_only_its_reference(shards, tiny_digits, decoded, tmp_path):
    """A set of 256 with a reference of 40: 40 images decoded (once: the second evaluation and a new process read
    the cached features), however large the set; pixel metrics add only the images they look at."""
    feature_cache.forget()
    generator, ext = _digits_generator(tiny_digits["images"]), PixelExtractor()
    reference = from_source(shards["source"], n=40, seed=0, digest=shards["digest"])
    kw = dict(n=32, batch_size=16, progress=False, cache_dir=tmp_path)
    report = evaluate(generator, reference, ext, metrics="fid,kid", **kw)
    assert len(decoded) == 40 and report["num_reference"] == 40
    evaluate(generator, reference, ext, metrics="fid,kid", **kw)
    feature_cache.forget()  # a new process: features, labels and pixel moments from the disk cache
    evaluate(generator, reference, ext, metrics="fid,kid", **kw)
    assert len(decoded) == 40
    evaluate(generator, reference, ext, metrics="fid,swd", num_images=8, **kw)
    assert len(decoded) == 40 + 16  # 8 real images per half for the pixel metric, nothing else


def test_classifier_trains_from_shards_like_from_arrays(shards, tiny_digits, decoded, tmp_path):
    """The same seeded holdout (its size, never trained on), an accuracy in the same ballpark; the split is made on
    the encoded records, so a training image is decoded once per epoch and a held-out one only to be scored."""
    from kgan.data.sources import open_source
    from kgan.metrics.classifier import train_classifier, train_on_records
    from kgan.metrics.reference import indexed_records

    src = open_source(shards["source"])
    records, decode = indexed_records(src)
    streamed = json.loads(train_on_records(records, src.labels, (28, 28, 1), 3, tmp_path / "s.keras", seed=1,
                                           batch_size=16, shuffle_buffer=64, decode=decode)
                          .with_suffix(".json").read_text())
    assert len(decoded) == 230 * 3 + 26  # filtered before decoding: 230 train per epoch, the 26 held out once
    arrays = json.loads(train_classifier(tiny_digits["images"], tiny_digits["labels"], 3, tmp_path / "a.keras",
                                         seed=1, batch_size=16).with_suffix(".json").read_text())
    assert streamed["holdout_size"] == arrays["holdout_size"] == 26
    assert streamed["train_size"] == arrays["train_size"] == 230
    assert streamed["holdout_accuracy"] > 0.5 and arrays["holdout_accuracy"] > 0.5  # chance: 0.1
    assert abs(streamed["holdout_accuracy"] - arrays["holdout_accuracy"]) < 0.25
