"""kgan.latent: slerp/lerp/truncate against the seeds' formula and its degenerate cases."""

import numpy as np
import pytest

from kgan.latent import interpolation_path, lerp, slerp, truncate


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def test_slerp_endpoints_are_the_inputs():
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((2, 16)).astype(np.float32)
    np.testing.assert_allclose(slerp(z1, z2, 0.0), z1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(slerp(z1, z2, 1.0), z2, rtol=1e-6, atol=1e-6)
    assert slerp(z1, z2, 0.3).dtype == np.float32
    path = interpolation_path(z1, z2, 7, "spherical")
    assert path.shape == (7, 16)
    np.testing.assert_allclose(path[0], z1, atol=1e-6)
    np.testing.assert_allclose(path[-1], z2, atol=1e-6)


def test_slerp_keeps_the_norm_of_equal_norm_vectors():
    rng = np.random.default_rng(1)
    z1, z2 = _unit(rng.standard_normal(8)), _unit(rng.standard_normal(8))
    t = np.linspace(0, 1, 21)
    norms = np.linalg.norm(slerp(z1, z2, t), axis=-1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-12)
    # lerp, for contrast, cuts the corner
    assert np.linalg.norm(lerp(z1, z2, 0.5)) < 1.0 - 1e-3


def test_slerp_matches_the_formula_by_hand_at_half():
    z1 = np.array([1.0, 0.0, 0.0])
    z2 = np.array([1.0, 1.0, 0.0])  # 45 degrees, different norms
    alpha = np.pi / 4
    want = np.sin(0.5 * alpha) / np.sin(alpha) * z1 + np.sin(0.5 * alpha) / np.sin(alpha) * z2
    np.testing.assert_allclose(slerp(z1, z2, 0.5), want, rtol=1e-12)
    # and in numbers: sin(pi/8)/sin(pi/4) = 0.5411961...
    np.testing.assert_allclose(want, [1.0823922, 0.5411961, 0.0], rtol=1e-6)


def test_slerp_parallel_falls_back_to_lerp():
    z1 = np.array([1.0, 2.0, -1.0])
    z2 = 3.0 * z1
    t = np.linspace(0, 1, 5)
    got = slerp(z1, z2, t)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, lerp(z1, z2, t), rtol=1e-12)
    np.testing.assert_allclose(slerp(z1, z1, 0.4), z1)
    np.testing.assert_allclose(slerp(np.zeros(3), z1, 0.25), 0.25 * z1)  # zero vector: lerp


def test_slerp_antiparallel_walks_a_half_circle():
    z1 = _unit([1.0, 2.0, 3.0, 0.5])
    z2 = -z1
    t = np.linspace(0, 1, 11)
    got = slerp(z1, z2, t)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[0], z1, atol=1e-12)
    np.testing.assert_allclose(got[-1], z2, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(got, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(got[5] @ z1, 0.0, atol=1e-12)  # the midpoint is orthogonal


def test_slerp_batched_rows_and_paths():
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 3, 5))
    b[1] = 2 * a[1]  # one parallel row among ordinary ones
    t = np.array([0.2, 0.5, 0.9])
    got = slerp(a, b, t)
    for i in range(3):
        np.testing.assert_allclose(got[i], slerp(a[i], b[i], t[i]), rtol=1e-12)
    path = interpolation_path(a, b, 4, "linear")
    assert path.shape == (3, 4, 5)
    np.testing.assert_allclose(path[:, 0], a)
    np.testing.assert_allclose(path[:, -1], b)
    with pytest.raises(ValueError):
        interpolation_path(a, b, 4, "cubic")


def test_truncate():
    z = np.random.default_rng(3).standard_normal((4, 8)).astype(np.float32)
    np.testing.assert_array_equal(truncate(z, 0.0), np.zeros_like(z))
    np.testing.assert_allclose(truncate(z, 1.0), z)
    np.testing.assert_allclose(truncate(z, 0.5), 0.5 * z, rtol=1e-6)
    assert truncate(z, 0.7).dtype == np.float32
