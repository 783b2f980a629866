"""Degradation transforms (downsample kernels, motion / trajectory / Gaussian blur, noise, JPEG), the blur
kernels they emit, and the reference points the data declares: bicubic upsampling and Wiener deconvolution."""

import dataclasses
import json
import math

import numpy as np
import pytest
import tensorflow as tf

import kgan.config
from kgan.data import kernels, load_arrays, transforms
from kgan.errors import ConfigError
from kgan.imageio import to_uint8
from kgan.metrics import FeatureExtractor, evaluate, format_table
from kgan.metrics.paired import l1, ms_ssim_pairs, psnr
from kgan.metrics.report import resolve_metrics
from kgan.metrics.restoration import classical_inverses

DATA = kgan.config.from_dict({"data": {"source": "mnist"}}).data  # 28 x 28 x 1


@pytest.fixture(scope="module")
def digits():
    images = load_arrays("mnist", limit=32)[0]
    return images, tf.constant(images.astype(np.float32) / 127.5 - 1.0)


def _apply(spec, image, seed=(0, 1), data=DATA):
    return {k: v.numpy() for k, v in transforms.apply(spec, data, {"image": image}, tf.constant(seed, tf.int64)).items()}


# ----- grammar ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ("downsample:4", transforms.Transform("downsample", "4", "area")),
    ("downsample:2:bicubic", transforms.Transform("downsample", "2", "bicubic")),
    ("downsample:7:gaussian+noise:0.05", transforms.Transform("downsample", "7", "gaussian", noise=0.05)),
    ("blur:1.5", transforms.Transform("blur", "1.5", "gaussian", 9)),
    ("blur:gaussian:1", transforms.Transform("blur", "1", "gaussian", 7)),
    ("blur:motion", transforms.Transform("blur", "", "motion", 7)),
    ("blur:trajectory:13+jpeg:75", transforms.Transform("blur", "13", "trajectory", 13, jpeg=75)),
    ("blur:motion+noise:0.02+jpeg:40", transforms.Transform("blur", "", "motion", 7, 0.02, 40)),
    ("mask:half", transforms.Transform("mask", "half")),
])
def test_each_form_parses(spec, expected):
    assert transforms.parse(spec, DATA) == expected


@pytest.mark.parametrize("spec, message", [
    ("blur:motion:4", "is not allowed"), ("blur:motion:15", "is not allowed"), ("blur:0", "is not allowed"),
    ("blur:gaussian", "is not allowed"), ("blur:inf", "is not allowed"), ("blur:shake", "is not allowed"),
    ("blur:10", "not below data.resolution"), ("downsample:3", "divisible by 3"),
    ("downsample:2:nearest", "is not allowed"), ("blur:motion+noise:0", "option 'noise:0'"),
    ("blur:motion+noise:2", "option 'noise:2'"), ("blur:motion+jpeg:0", "option 'jpeg:0'"),
    ("blur:motion+jpeg:101", "option 'jpeg:101'"), ("blur:motion+blur:1", "option 'blur:1'"),
    ("blur:motion+noise:0.1+noise:0.2", "each at most once"), ("edges+noise:0.1", "apply only to downsample"),
])
def test_bad_forms_fail_at_config_load_in_one_line(spec, message):
    with pytest.raises(ConfigError, match=f"data.transform: .*{message}") as caught:
        kgan.config.from_dict({"data": {"source": "mnist", "transform": spec}})
    assert "\n" not in str(caught.value)


def test_features_and_shapes_of_the_degradations():
    assert transforms.feature_names("blur:motion+noise:0.1") == ("source", "target", "blur_kernel")
    assert transforms.feature_names("downsample:2:bicubic") == ("source", "target")
    assert transforms.source_shape("downsample:4:gaussian+jpeg:50", DATA) == (7, 7, 1)
    assert transforms.source_shape("blur:trajectory", DATA) == (28, 28, 1)
    assert [transforms.default_kernel_size(r) for r in (8, 28, 32, 64, 128, 256)] == [3, 7, 7, 15, 31, 63]


# ----- kernels ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["motion", "trajectory"])
def test_random_kernels_sum_to_one_and_are_deterministic_per_seed(digits, kind):
    image = digits[1][:8]
    first, again, other = (_apply(f"blur:{kind}", image, seed)["blur_kernel"] for seed in ((0, 1), (0, 1), (0, 2)))
    assert first.shape == (8, 7, 7) and (first >= 0).all()
    np.testing.assert_allclose(first.sum(axis=(1, 2)), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).max() > 0.05  # another batch position draws other kernels
    assert min(np.abs(first[i] - first[j]).max() for i in range(8) for j in range(i)) > 1e-3  # and per example


def _moments(kernel):
    """Mean and covariance of a kernel as a distribution over (x = column, y = up)."""
    size = kernel.shape[0]
    rows, cols = np.mgrid[:size, :size] - (size - 1) / 2
    points = np.stack([cols.ravel(), -rows.ravel()])
    w = kernel.ravel()
    mean = points @ w
    centred = points - mean[:, None]
    return mean, (centred * w) @ centred.T


@pytest.mark.parametrize("degrees", [0, 30, 90, 135])
def test_a_motion_kernel_is_a_centred_line_of_its_length_and_angle(degrees):
    length = 10.0
    kernel = kernels.line_kernels(tf.constant([length]), tf.constant([math.radians(degrees)]), 15).numpy()[0]
    mean, cov = _moments(kernel)
    values, vectors = np.linalg.eigh(cov)
    angle = math.degrees(math.atan2(vectors[1, 1], vectors[0, 1])) % 180
    np.testing.assert_allclose(mean, 0.0, atol=1e-5)
    assert min(abs(angle - degrees), 180 - abs(angle - degrees)) < 1.0
    # a uniform segment has variance L^2 / 12 along it; bilinear splatting adds about 1/6 per axis
    assert values[1] == pytest.approx(length ** 2 / 12 + 1 / 6, rel=0.05)
    assert values[0] < 0.25


def test_random_motion_lengths_fit_the_kernel():
    drawn = kernels.motion_kernels(tf.constant([3, 4], tf.int64), 64, 15).numpy()
    spread = np.array([np.linalg.eigvalsh(_moments(k)[1])[1] for k in drawn])
    lengths = np.sqrt(12 * (spread - 1 / 6))
    assert lengths.min() >= 15 / 4 - 0.3 and lengths.max() <= 14 + 0.3 and lengths.std() > 1.5


def test_blur_convolves_with_the_emitted_kernel(digits):
    """The source is the reflection-padded image convolved (not correlated) with `blur_kernel`."""
    from scipy.signal import convolve2d

    images, image = digits
    made = _apply("blur:trajectory:9", image[:4])
    for i in range(4):
        padded = np.pad(image[i, :, :, 0].numpy(), 4, mode="reflect")
        expected = convolve2d(padded, made["blur_kernel"][i], mode="valid")
        np.testing.assert_allclose(made["source"][i, :, :, 0], expected, atol=1e-5)
    gaussian = _apply("blur:gaussian:1", image[:2])
    assert gaussian["blur_kernel"].shape == (2, 7, 7)
    np.testing.assert_allclose(gaussian["source"][0, :, :, 0],
                               convolve2d(np.pad(image[0, :, :, 0].numpy(), 3, mode="reflect"),
                                          gaussian["blur_kernel"][0], mode="valid"), atol=1e-5)
    np.testing.assert_array_equal(_apply("blur:1", image[:2])["source"], gaussian["source"])


# ----- downsampling, noise, JPEG ---------------------------------------------------------------------------------
def test_downsample_kernels(digits):
    image = digits[1][:8]
    made = {kind: _apply(f"downsample:4:{kind}", image)["source"] for kind in transforms.DOWNSAMPLE_KERNELS}
    assert all(source.shape == (8, 7, 7, 1) for source in made.values())
    np.testing.assert_array_equal(_apply("downsample:4", image)["source"], made["area"])
    np.testing.assert_allclose(made["area"], tf.nn.avg_pool2d(image, 4, 4, "VALID").numpy())
    assert np.abs(made["bicubic"] - made["area"]).mean() > 0.01
    assert np.abs(made["gaussian"] - made["area"]).mean() > 0.01
    flat = tf.fill([2, 28, 28, 1], 0.3)  # each kernel sums to one: a flat image stays flat
    for kind in transforms.DOWNSAMPLE_KERNELS:
        np.testing.assert_allclose(_apply(f"downsample:2:{kind}", flat)["source"], 0.3, atol=1e-5)


def test_noise_and_jpeg_change_the_source_deterministically(digits):
    image = digits[1][:8]
    clean = _apply("blur:motion", image)["source"]
    gray = tf.zeros([8, 28, 28, 1])  # no clipping at mid-gray
    noise = _apply("blur:motion+noise:0.05", gray)["source"]
    assert noise.std() == pytest.approx(2 * 0.05, rel=0.05) and abs(noise.mean()) < 0.01
    np.testing.assert_array_equal(noise, _apply("blur:motion+noise:0.05", gray)["source"])
    assert np.abs(noise - _apply("blur:motion+noise:0.05", gray, (0, 2))["source"]).mean() > 0.05
    noisy = _apply("blur:motion+noise:0.05", image)["source"]
    assert noisy.min() >= -1 and noisy.max() <= 1 and np.abs(noisy - clean).mean() > 0.02
    errors = {}
    for quality in (10, 95):
        jpeg = _apply(f"blur:motion+jpeg:{quality}", image)["source"]
        np.testing.assert_array_equal(jpeg, _apply(f"blur:motion+jpeg:{quality}", image)["source"])
        errors[quality] = np.abs(jpeg - clean).mean()
    assert errors[10] > 2 * errors[95] > 0
    assert _apply("downsample:2+jpeg:20", image)["source"].shape == (8, 14, 14, 1)


def test_transforms_run_inside_tf_data():
    from kgan.data.features import feature_arrays

    data = dataclasses.replace(DATA, limit=8, batch_size=4, transform="blur:trajectory+noise:0.01")
    arrays = feature_arrays(data, 6)
    assert arrays["blur_kernel"].shape == (6, 7, 7) and arrays["source"].shape == (6, 28, 28, 1)
    np.testing.assert_array_equal(arrays["blur_kernel"], feature_arrays(data, 6)["blur_kernel"])


# ----- classical inverses ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", ["blur:motion", "blur:trajectory", "blur:gaussian:1", "blur:motion:11+noise:0.01"])
def test_wiener_with_the_true_kernel_beats_the_blurred_input(digits, spec):
    images, image = digits
    rows = _apply(spec, image)
    data = dataclasses.replace(DATA, transform=spec)
    restored = classical_inverses(data, rows, images.shape[1:])["wiener"]
    blurred = to_uint8(rows["source"])
    assert restored.dtype == np.uint8 and restored.shape == images.shape
    assert psnr(restored, images)["mean"] > psnr(blurred, images)["mean"] + 2.0
    assert l1(restored, images)["mean"] < l1(blurred, images)["mean"]


def test_bicubic_upsampling_beats_nearest_neighbour(digits):
    from kgan.metrics.identity import as_output

    images, image = digits
    data = dataclasses.replace(DATA, transform="downsample:2:bicubic")
    rows = _apply(data.transform, image)
    upsampled = classical_inverses(data, rows, images.shape[1:])
    assert set(upsampled) == {"bicubic"} and upsampled["bicubic"].shape == images.shape
    nearest = as_output(to_uint8(rows["source"]), images.shape[1:])
    assert psnr(upsampled["bicubic"], images)["mean"] > psnr(nearest, images)["mean"]
    assert classical_inverses(dataclasses.replace(DATA, transform="edges"), rows, images.shape[1:]) == {}


def test_ms_ssim_pairs_is_a_registered_paired_metric(digits):
    images = digits[0]
    rng = np.random.default_rng(0)
    noisy = {s: np.clip(images + rng.normal(0, s, images.shape), 0, 255).astype(np.uint8) for s in (10, 60)}
    scores = [ms_ssim_pairs(x, images)["mean"] for x in (images, noisy[10], noisy[60], np.roll(images, 1, axis=0))]
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    assert scores == sorted(scores, reverse=True) and scores[1] - scores[2] > 0.02 and scores[3] < 0.5
    assert ms_ssim_pairs(images, images)["num_images"] == 32
    assert "ms_ssim_pairs" in resolve_metrics(None, {"paired"})


# ----- reference points of a trained model -----------------------------------------------------------------------
class MeanExtractor(FeatureExtractor):
    """Features: the mean and std of each image (enough for a Frechet distance)."""

    name = "mean-std"

    @property
    def details(self):
        return {"name": self.name, "resize": "none"}

    def _forward(self, images):
        x = np.asarray(images, np.float64).reshape(len(images), -1)
        return np.stack([x.mean(axis=1), x.std(axis=1)], axis=1), None


def _train(tmp_path, transform):
    import kgan.training
    from kgan.training import load_run

    cfg = kgan.config.from_dict({
        "name": "restore", "seed": 0, "model": {"name": "pix2pix", "width": 8},
        "data": {"source": "mnist", "limit": 48, "batch_size": 8, "transform": transform, "holdout": 1 / 3},
        "train": {"steps": 2, "checkpoint_every": 2, "snapshot_every": 2, "log_every": 2, "ema": 0.0}})
    kgan.training.train(cfg, tmp_path / "run", verbose=False)
    return load_run(tmp_path / "run")[:2]


@pytest.mark.parametrize("transform, point", [("blur:motion+noise:0.01", "wiener"), ("downsample:2:gaussian", "bicubic")])
def test_the_data_declares_its_reference_point_in_every_report(tmp_path, digits, transform, point):
    from kgan.data.features import feature_batches
    from kgan.gallery.evaluation import metrics_table
    from kgan.metrics.report import format_value

    cfg, gan = _train(tmp_path, transform)
    report = evaluate(gan, digits[0], MeanExtractor(), metrics="l1,psnr,ms_ssim_pairs,fid", n=16, batch_size=8,
                      data=feature_batches(cfg.data, 8, split="holdout"), data_config=cfg.data, progress=False)
    points = report["reference_points"]
    assert {"identity", point} <= set(points)
    assert "true kernel" in points[point]["description"] or "bicubic" in points[point]["description"]
    assert set(points[point]["metrics"]) == {"l1", "psnr", "ms_ssim_pairs", "fid"}
    assert points[point]["metrics"]["psnr"]["mean"] > points["identity"]["metrics"]["psnr"]["mean"]
    header = next(line for line in format_table(report).splitlines() if line.startswith("metric"))
    assert header.split()[-2:] == ["identity", point]
    table = metrics_table([("samples", json.loads(json.dumps(report, sort_keys=True)))])  # as the gallery reads it
    assert table.headers[-2:] == ["identity", point]
    assert [row[-1] for row in table.rows if row[0] == "PSNR dB"] == [
        format_value(points[point]["metrics"]["psnr"]["mean"])]
    without = evaluate(gan, None, None, metrics="psnr", n=16, batch_size=8,
                       data=feature_batches(cfg.data, 8, split="holdout"), progress=False)
    assert point not in without["reference_points"]  # no data section given, no data-declared point


# ----- random crops of your own photos ---------------------------------------------------------------------------
def test_random_crops_of_a_folder_are_seeded_fresh_each_epoch_and_cut_from_the_image(tmp_path):
    from PIL import Image

    from kgan.data import make_dataset

    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "a.png")
    Image.fromarray(np.full((10, 12, 3), 200, np.uint8)).save(tmp_path / "b.png")  # smaller than R: padded
    data = kgan.config.from_dict({"data": {"source": f"folder:{tmp_path}", "resolution": 16, "channels": 3,
                                           "resize": "crop", "batch_size": 1, "shuffle_buffer": 0}}).data

    def crops(seed, n=8):
        batches = make_dataset(data, seed=seed).take(n).as_numpy_iterator()
        return [np.rint((x[0] + 1) * 127.5).astype(np.uint8) for x, _ in batches]

    first = crops(0)
    assert all(c.shape == (16, 16, 3) for c in first)
    np.testing.assert_array_equal(np.stack(first), np.stack(crops(0)))
    assert not np.array_equal(np.stack(first), np.stack(crops(1)))
    big = first[0::2]  # the stream alternates a.png, b.png
    windows = {(i, j) for c in big for i in range(25) for j in range(41) if np.array_equal(photo[i:i + 16, j:j + 16], c)}
    assert len(windows) == len(big) and len({tuple(c.ravel()) for c in big}) > 1  # cut from the photo, moving
    small = first[1]
    assert (small[3:13, 2:14] == 200).all() and (small[:3] == 0).all()  # centred on black
    with pytest.raises(ConfigError, match="data.resize"):
        kgan.config.from_dict({"data": {"resize": "random"}})


def test_random_crops_cut_both_images_of_a_pair_alike(tmp_path):
    from PIL import Image

    from kgan.data.features import feature_arrays

    rng = np.random.default_rng(1)
    for i in range(4):
        photo = rng.integers(0, 256, (24, 30), dtype=np.uint8)
        for folder, image in (("a", 255 - photo), ("b", photo)):
            (tmp_path / folder).mkdir(exist_ok=True)
            Image.fromarray(image).save(tmp_path / folder / f"{i}.png")
    data = kgan.config.from_dict({"data": {"source": f"paired:{tmp_path / 'a'},{tmp_path / 'b'}", "resolution": 16,
                                           "resize": "crop", "batch_size": 2}}).data
    arrays = feature_arrays(data, 4)
    assert arrays["source"].shape == arrays["target"].shape == (4, 16, 16, 1)
    np.testing.assert_allclose(arrays["source"], -arrays["target"], atol=1e-6)  # 255 - x is -x on [-1, 1]
