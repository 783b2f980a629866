"""Metric math on synthetic features: each test compares against an independent computation."""

import json

import numpy as np
import pytest
import scipy.linalg

from kgan.errors import ConfigError, DataError
from kgan.metrics import (FeatureExtractor, Generator, RunningStats, class_coverage, evaluate,
                          format_table, frechet_distance, inception_score,
                          kernel_inception_distance, ms_ssim, perceptual_path_length,
                          precision_recall, swd)
from kgan.metrics import feature_cache
from kgan.metrics.baselines import pixel_gaussian
from kgan.metrics.kid import subset_indices, subset_mmd2
from kgan.metrics.stats import cache_key


def _fit(x):
    return x.mean(0), np.cov(x, rowvar=False)


def _scipy_fid(x, y):
    (m1, s1), (m2, s2) = _fit(x), _fit(y)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((m1 - m2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


def test_fid_matches_closed_form_of_true_gaussians():
    rng = np.random.default_rng(0)
    d = 6
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a, b = rng.uniform(0.5, 3, d), rng.uniform(0.5, 3, d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T  # commuting: sqrt is elementwise
    truth = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    x = rng.multivariate_normal(mu1, s1, 40000)
    y = rng.multivariate_normal(mu2, s2, 40000)
    est = frechet_distance(*_fit(x), *_fit(y))
    assert est == pytest.approx(truth, rel=0.03)


def test_fid_zero_for_same_set_symmetric_and_equals_scipy_reference():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((600, 24)) @ rng.standard_normal((24, 24))
    y = rng.standard_normal((500, 24)) * 1.5 + 0.3
    assert frechet_distance(*_fit(x), *_fit(x)) < 1e-8 * np.trace(_fit(x)[1])
    fxy, fyx = frechet_distance(*_fit(x), *_fit(y)), frechet_distance(*_fit(y), *_fit(x))
    assert fxy == pytest.approx(fyx, rel=1e-9)
    assert fxy == pytest.approx(_scipy_fid(x, y), rel=1e-6)


def test_fid_exact_for_singular_covariances():
    rng = np.random.default_rng(2)
    n, d = 20, 64  # fewer samples than dimensions: both covariances have rank 19
    x, y = rng.standard_normal((n, d)), rng.standard_normal((n, d)) * 2 + 1
    (m1, s1), (m2, s2) = _fit(x), _fit(y)
    # independent route: Tr sqrt(S1 S2) = sum sqrt(eig(A S2 A^T)) with S1 = A^T A
    a = (x - m1) / np.sqrt(n - 1)
    tr = np.sqrt(np.clip(np.linalg.eigvalsh(a @ s2 @ a.T), 0, None)).sum()
    truth = ((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr
    value = frechet_distance(m1, s1, m2, s2)
    assert np.isfinite(value) and value == pytest.approx(truth, rel=1e-6)
    assert frechet_distance(m1, s1, m1, s1) < 1e-8 * np.trace(s1)
    # rank-1 closed form: (sqrt a - sqrt b)^2
    e = np.zeros((d, d)); e[0, 0] = 1
    assert frechet_distance(np.zeros(d), 4 * e, np.zeros(d), 9 * e) == pytest.approx(1.0, rel=1e-9)


def test_running_stats_streaming_equals_batch_computation():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1003, 7)) * 1e3 + 1e6  # large offset: naive formulas cancel
    st = RunningStats()
    for i in range(0, len(x), 97):
        st.update(x[i:i + 97])
    assert st.n == len(x)
    np.testing.assert_allclose(st.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(st.cov, np.cov(x, rowvar=False), rtol=1e-7)


def test_inception_score_bounds():
    k = 10
    confident_spread = np.eye(k)[np.arange(1000) % k]
    assert inception_score(confident_spread)["mean"] == pytest.approx(k, rel=1e-9)
    constant = np.tile(np.linspace(1, 2, k) / np.linspace(1, 2, k).sum(), (1000, 1))
    assert inception_score(constant)["mean"] == pytest.approx(1.0, abs=1e-9)


def _brute_mmd2(x, y):
    d, m = x.shape[1], len(x)
    k = lambda a, b: (a @ b / d + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


def test_kid_unbiased_and_detects_shift():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((30, 5)), rng.standard_normal((30, 5)) + 0.2
    assert kernel_inception_distance(x, y, num_subsets=1, subset_size=30)["mean"] == \
        pytest.approx(_brute_mmd2(x, y), rel=1e-5)  # float32 kernel products
    a, b = rng.standard_normal((2000, 16)), rng.standard_normal((2000, 16))
    same = kernel_inception_distance(a, b, num_subsets=50, subset_size=200)
    shifted = kernel_inception_distance(a, b + 0.5, num_subsets=50, subset_size=200)
    assert abs(same["mean"]) < 3 * same["std"] / np.sqrt(50) + 1e-3
    assert shifted["mean"] > 20 * abs(same["mean"]) and shifted["mean"] > 5 * shifted["std"] / 7


def _loop_mmd2(x, y, ix, iy):
    """KID's subsets one at a time in float64: what the batched float32 computation replaced."""
    def kernel(a, b):
        return (a @ b.T / a.shape[1] + 1) ** 3

    m, values = ix.shape[1], []
    for a, b in zip(x[ix].astype(np.float64), y[iy].astype(np.float64)):
        kxx, kyy = kernel(a, a), kernel(b, b)
        same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(same - 2 * kernel(a, b).sum() / (m * m))
    return np.array(values)


def test_kid_batched_subsets_match_float64_loop():
    """ReLU-like features (non-negative, large kernel sums that cancel), 11 subsets: not a multiple of the batch."""
    rng = np.random.default_rng(12)
    w = rng.standard_normal((16, 48))
    x = np.maximum(rng.standard_normal((1500, 16)) @ w, 0).astype(np.float32)
    for y in (np.maximum(rng.standard_normal((1200, 16)) @ w, 0).astype(np.float32), x[:1200] * 1.02):
        ix, iy = subset_indices(len(x), len(y), 300, 11, seed=3)
        assert ix.shape == iy.shape == (11, 300) and all(len(set(row)) == 300 for row in ix)
        exact = _loop_mmd2(x, y, ix, iy)
        batched = subset_mmd2(x, y, ix, iy)
        scale = np.abs(exact).max()
        np.testing.assert_allclose(batched, exact, rtol=0, atol=1e-5 * scale)
        kid = kernel_inception_distance(x, y, num_subsets=11, subset_size=300, seed=3)
        assert kid["mean"] == pytest.approx(exact.mean(), rel=0, abs=1e-5 * scale)
        assert kid["std"] == pytest.approx(exact.std(), rel=1e-4)


def test_feature_cache_recomputes_for_new_data_or_extractor(tmp_path):
    """Real features are computed once per (data digest, extractor identity, resize, variant), in memory and on
    disk; changing any of them, or a file that does not match its key, recomputes."""
    feature_cache.forget()
    images = _blobs(120, np.random.default_rng(13))
    calls = []
    ext = PixelExtractor(calls=calls)
    first = feature_cache.features_of(ext, images, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 120 and first["features"].shape == (120, 32) and first["probs"].shape == (120, 4)
    (path,) = tmp_path.glob("features-pixels-real-120-*.npz")
    assert not [p for p in tmp_path.iterdir() if p != path]  # written to a temporary name, then renamed
    feature_cache.features_of(ext, images, cache_dir=tmp_path, progress=False)
    feature_cache.forget()  # a new process: from disk
    again = feature_cache.features_of(PixelExtractor(calls=calls), images.copy(), cache_dir=tmp_path,
                                      progress=False)
    assert sum(calls) == 120
    np.testing.assert_array_equal(again["features"], first["features"])

    changed = images.copy()
    changed[5, 10, 10, 0] ^= 1  # one pixel of the data
    feature_cache.features_of(ext, changed, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 240
    retrained = PixelExtractor(calls=calls)
    retrained.proj = retrained.proj * 1.01  # same name, details and resize; other weights
    other = feature_cache.features_of(retrained, images, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 360 and not np.allclose(other["features"], first["features"])

    feature_cache.forget()
    digest = feature_cache.key(ext, images)
    np.savez(path, key=np.array("another key"), features=first["features"] + 1)  # stale or foreign content
    fresh = feature_cache.features_of(ext, images, cache_dir=tmp_path, progress=False)
    assert sum(calls) == 480
    np.testing.assert_array_equal(fresh["features"], first["features"])
    with np.load(path) as z:
        assert str(z["key"]) == digest  # replaced


def test_per_class_fid_takes_real_features_from_the_cache():
    from kgan.metrics.conditional import per_class_fid

    feature_cache.forget()
    rng = np.random.default_rng(14)
    ref, labels = _blobs(240, rng), rng.integers(0, 3, 240)
    calls = []
    ext = PixelExtractor(calls=calls)
    fake = {y: ext.features(_blobs(40, rng)) for y in range(3)}
    calls.clear()
    first = per_class_fid(fake, ext, ref, labels)
    assert sum(calls) == 240  # the reference once, not once per class
    for y in range(3):
        real, gen = RunningStats(), RunningStats()
        real.update(ext.features(ref[labels == y]))
        gen.update(fake[y])
        assert first[y] == pytest.approx(frechet_distance(gen.mean, gen.cov, real.mean, real.cov), rel=1e-6)
    calls.clear()
    assert per_class_fid(fake, ext, ref, labels) == first and sum(calls) == 0


def test_precision_recall_identical_and_dropped_modes():
    rng = np.random.default_rng(5)
    centers = np.eye(8)[:4] * 20
    real = np.concatenate([c + rng.standard_normal((300, 8)) for c in centers])
    pr = precision_recall(real, real.copy(), block=256)
    assert pr["precision"] == 1.0 and pr["recall"] == 1.0
    full = precision_recall(real, np.concatenate(
        [c + rng.standard_normal((300, 8)) for c in centers]), block=256)
    dropped = precision_recall(real, np.concatenate(
        [c + rng.standard_normal((600, 8)) for c in centers[:2]]), block=256)
    assert full["recall"] > 0.8 and dropped["recall"] < 0.55  # two of four modes are missing
    assert dropped["precision"] > 0.75 and full["precision"] > 0.75  # what exists is realistic


def test_class_coverage():
    probs = np.eye(10)[np.arange(1000) % 5]
    cov = class_coverage(probs)
    assert cov["coverage"] == 0.5 and cov["kl_uniform"] == pytest.approx(np.log(2))
    full = class_coverage(np.eye(10)[np.arange(1000) % 10])
    assert full["coverage"] == 1.0 and full["kl_uniform"] == pytest.approx(0.0, abs=1e-12)


def _blobs(n, rng, size=28):
    """Smooth random images: a few Gaussian blobs each (a structured stand-in for digits)."""
    yy, xx = np.mgrid[:size, :size]
    img = np.zeros((n, size, size))
    for _ in range(3):
        cy, cx = rng.uniform(6, size - 6, (2, n, 1, 1))
        img += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
    return np.clip(img * 200, 0, 255).astype(np.uint8)[..., None]


def test_ms_ssim_orders_diversity():
    rng = np.random.default_rng(6)
    few = np.repeat(_blobs(4, rng), 50, axis=0)  # mode-collapsed: 4 distinct images
    varied = _blobs(200, rng)
    noise = rng.integers(0, 256, (200, 28, 28, 1), dtype=np.uint8)
    s_few, s_var, s_noise = (ms_ssim(x, num_pairs=400)["mean"] for x in (few, varied, noise))
    assert all(np.isfinite([s_few, s_var, s_noise]))
    assert s_few > s_var > s_noise


def test_swd_real_vs_real_below_real_vs_noise():
    rng = np.random.default_rng(7)
    a, b = _blobs(256, rng), _blobs(256, rng)
    noise = rng.integers(0, 256, (256, 28, 28, 1), dtype=np.uint8)
    same, far = swd(a, b), swd(a, noise)
    assert list(same["levels"]) == ["28", "14", "7"]
    assert np.isfinite(same["mean"]) and same["mean"] < far["mean"] / 3


class PixelExtractor(FeatureExtractor):
    """Numpy-only extractor: a fixed random projection of pixels; fake 'classes' by brightness."""

    name = "pixels"
    num_classes = 4

    def __init__(self, dim=32, calls=None):
        self.proj = np.random.default_rng(0).standard_normal((784, dim)) / 28
        self.calls = calls if calls is not None else []

    @property
    def details(self):
        return {"name": self.name, "resize": "none", "dim": self.proj.shape[1]}

    @property
    def identity(self):
        return cache_key(self.proj)

    def _forward(self, images):
        self.calls.append(len(images))
        x = np.asarray(images, np.float64).reshape(len(images), -1) / 255
        logits = np.stack([x.mean(1) * 40 - c for c in range(4)], 1)
        p = np.exp(logits - logits.max(1, keepdims=True))
        return x @ self.proj, p / p.sum(1, keepdims=True)


def test_ppl_finite_and_larger_for_steeper_generator():
    w = np.random.default_rng(8).standard_normal((8, 784)) / 4

    def make(scale):
        return Generator.from_latent(lambda z: np.tanh(scale * z @ w).reshape(-1, 28, 28, 1), latent_dim=8)

    ext = PixelExtractor()
    smooth = perceptual_path_length(make(0.5), ext, num_samples=200)
    steep = perceptual_path_length(make(2.0), ext, num_samples=200)
    assert np.isfinite(smooth["mean"]) and steep["mean"] > 2 * smooth["mean"]


def test_pixel_gaussian_matches_per_pixel_moments():
    rng = np.random.default_rng(9)
    ref = (_blobs(500, rng) // 2 + 60).astype(np.uint8)  # away from 0/255: clipping is rare
    fake = np.concatenate(list(pixel_gaussian(ref, 4000, seed=1)))
    assert fake.dtype == np.uint8 and fake.shape == (4000, 28, 28, 1)
    mu, sd = ref.mean(0), ref.std(0)
    inside = (mu - 3 * sd > 0) & (mu + 3 * sd < 255) & (sd > 5)  # where clipping is negligible
    assert inside.sum() > 20
    assert np.abs(fake.mean(0) - mu)[inside].max() < 4
    np.testing.assert_allclose(fake.std(0)[inside], sd[inside], rtol=0.1)
    # pixels are independent: neighbours correlate in the real set, not in the baseline
    corr = lambda x: np.corrcoef(x[:, 14, 13, 0], x[:, 14, 14, 0])[0, 1]  # noqa: E731
    assert corr(ref) > 0.5 and abs(corr(fake)) < 0.1


def test_evaluate_report_reference_points_and_cache(tmp_path):
    feature_cache.forget()
    rng = np.random.default_rng(10)
    ref = _blobs(400, rng)
    calls = []
    ext = PixelExtractor(calls=calls)
    kw = dict(n=300, cache_dir=tmp_path, batch_size=100, progress=False, num_images=200,
              options={"ms_ssim": {"num_pairs": 300}, "swd": {"dir_repeats": 1}})
    report = evaluate(_blobs(300, rng), ref, ext, **kw)
    json.dumps(report)
    assert set(report["metrics"]) == {"fid", "kid", "pr", "is", "coverage", "ms_ssim", "swd"}
    assert report["resize"] == "none" and report["num_samples"] == 300
    rvr = report["reference_points"]["real_vs_real"]
    gauss = report["reference_points"]["pixel_gaussian"]["metrics"]
    assert rvr["num_samples"] == 200 and rvr["metrics"]["fid"]["num_samples"] == [200, 200]
    assert gauss["fid"]["value"] > report["metrics"]["fid"]["value"]
    assert gauss["swd"]["mean"] > rvr["metrics"]["swd"]["mean"]
    assert "FID" in format_table(report) and "pixel gaussian" in format_table(report)
    assert len(list(tmp_path.glob("features-pixels-*-400-*.npz"))) == 2  # the reference and its Gaussian baseline
    first = sum(calls)
    assert first == 300 + 2 * 400  # samples + reference + Gaussian baseline
    calls.clear()
    again = evaluate(_blobs(300, rng), ref, ext, metrics="fid", **kw)
    assert sum(calls) == 300  # reference features came from the cache
    assert list(again["metrics"]) == ["fid"]
    gen = Generator.from_latent(lambda z: np.tanh(z @ np.ones((4, 784)) / 4).reshape(-1, 28, 28, 1), 4)
    with_model = evaluate(gen, ref, ext, metrics=["fid", "ppl"], **kw)
    assert np.isfinite(with_model["metrics"]["ppl"]["mean"])


def test_bad_input_errors(tmp_path):
    rng = np.random.default_rng(11)
    ref, ext = _blobs(50, rng), PixelExtractor()
    kw = dict(progress=False, n=20)
    with pytest.raises(ConfigError, match="unknown metric"):
        evaluate(ref, ref, ext, metrics="fid,nope", **kw)
    with pytest.raises(ConfigError, match="ppl needs a generator"):
        evaluate(ref, ref, ext, metrics="ppl", **kw)
    with pytest.raises(DataError, match="fewer than the requested n=60"):
        evaluate(ref, ref, ext, metrics="fid", n=60, progress=False)
    with pytest.raises(DataError, match="fewer than n=40"):
        evaluate(iter([ref[:10], ref[10:30]]), ref, ext, metrics="fid", n=40, progress=False)
    with pytest.raises(DataError, match="must be uint8"):
        evaluate(ref.astype(np.float32), ref, ext, metrics="fid", **kw)
    with pytest.raises(DataError, match="one shape"):
        evaluate(np.zeros((20, 32, 32, 1), np.uint8), ref, ext, metrics="fid", **kw)
    from kgan.metrics import get_extractor
    with pytest.raises(DataError, match="no such directory"):
        get_extractor(f"inception:{tmp_path / 'missing'}")
    with pytest.raises(DataError, match="no such file"):
        get_extractor(f"classifier:{tmp_path / 'missing.keras'}")
    with pytest.raises(ConfigError, match="unknown feature extractor"):
        get_extractor("vgg:x")
