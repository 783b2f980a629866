"""kgan.layers: minibatch discrimination / stddev react to batch diversity; VBN uses the reference batch."""

import keras
import numpy as np
import pytest

from kgan import layers as kl


def batch(n=6, d=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).astype("float32")


@pytest.mark.parametrize("make", [lambda: kl.MinibatchDiscrimination(7, 3), lambda: kl.MinibatchStdDev(0)],
                         ids=["mbd", "stddev"])
def test_batch_statistics_layers(make):
    layer = make()
    x = batch()
    out = np.asarray(layer(x))
    assert out.shape[0] == 6 and np.allclose(out[:, :5], x)  # features pass through, extras appended
    np.testing.assert_allclose(np.asarray(layer(x)), out, rtol=1e-6)  # same batch -> same output
    perm = np.array([3, 0, 5, 1, 4, 2])
    np.testing.assert_allclose(np.asarray(layer(x[perm])), out[perm], rtol=1e-5, atol=1e-6)  # equivariant
    changed = x.copy()
    changed[1:] = x[0]  # a collapsed batch: every example the same
    out2 = np.asarray(layer(changed))
    assert not np.allclose(out2[0, 5:], out[0, 5:])  # example 0 is unchanged but its extra features move
    if isinstance(layer, kl.MinibatchStdDev):
        np.testing.assert_allclose(out2[:, 5:], 1e-4, atol=1e-4)  # no diversity -> std ~ 0


def test_stddev_groups_and_feature_maps():
    x = np.random.default_rng(1).normal(size=(8, 4, 4, 3)).astype("float32")
    out = np.asarray(kl.MinibatchStdDev(4)(x))
    assert out.shape == (8, 4, 4, 4)
    # group size 4 over 8 examples: example i is in group i mod 2
    for g in range(2):
        members = x[g::2]
        expected = np.sqrt(members.var(axis=0) + 1e-8).mean()
        np.testing.assert_allclose(out[g::2, :, :, 3], expected, rtol=1e-5)


def test_vbn_uses_reference_statistics():
    rng = np.random.default_rng(0)
    ref = rng.normal(2.0, 3.0, (16, 4)).astype("float32")
    other = rng.normal(-5.0, 0.5, (8, 4)).astype("float32")
    r = kl.ReferenceBatch(16)
    vbn = kl.VirtualBatchNormalization(16, include_self=False)
    r(ref, training=True)  # the first training batch becomes the reference
    out = np.asarray(kl.DropReference(16)(vbn(r(other, training=True))))
    expected = (other - ref.mean(0)) / np.sqrt(ref.var(0) + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)  # reference stats, not the batch's own
    own = (other - other.mean(0)) / np.sqrt(other.var(0) + 1e-5)
    assert not np.allclose(out, own, atol=0.1)
    # the reference stays fixed: a later batch does not replace it
    np.testing.assert_allclose(np.asarray(r.reference), ref)
    # with the example itself (paper): per-example result independent of the rest of the batch
    vbn_self = kl.VirtualBatchNormalization(16)
    full = np.asarray(vbn_self(r(other, training=True)))[16:]
    single = np.asarray(vbn_self(r(other[:1], training=True)))[16:]
    np.testing.assert_allclose(single, full[:1], rtol=1e-5, atol=1e-5)
    mean = (16 * ref.mean(0) + other[0]) / 17
    var = (16 * (ref ** 2).mean(0) + other[0] ** 2) / 17 - mean ** 2
    np.testing.assert_allclose(single[0], (other[0] - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)


def test_self_attention_starts_as_identity_and_serializes(tmp_path):
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 8)).astype("float32")
    inp = keras.Input((4, 4, 8))
    model = keras.Model(inp, kl.SelfAttention()(kl.MinibatchStdDev(2)(inp)))
    out = np.asarray(model(x))
    np.testing.assert_allclose(out[..., :8], x, rtol=1e-6)  # gamma = 0 at the start (SAGAN)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(np.asarray(again(x)), out, rtol=1e-6)


def test_label_check_names_the_range():
    with pytest.raises(Exception, match=r"\[0, 10\)"):
        kl.LabelCheck(10)(np.array([10], "int32"))


def test_equalized_layers_store_unscaled_weights_and_scale_by_he_constant_at_run_time():
    x = np.random.default_rng(0).normal(size=(2, 5, 5, 3)).astype("float32")
    conv = kl.EqualizedConv2D(4, 3, use_bias=False)
    y = np.asarray(conv(x))
    kernel = np.asarray(conv.kernel)
    assert abs(kernel.std() - 1.0) < 0.3  # stored as N(0, 1) draws, not He-scaled
    expected = np.asarray(keras.ops.conv(x, (kernel * np.sqrt(2.0 / 27)).astype("float32"), padding="same"))
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)

    dense = kl.EqualizedDense(6, lr_multiplier=0.01, bias_init=1.0)
    v = x.reshape(2, -1)
    out = np.asarray(dense(v))
    assert abs(np.asarray(dense.kernel).std() - 100.0) < 30.0  # N(0, 1 / lr_multiplier)
    np.testing.assert_allclose(out, v @ (np.asarray(dense.kernel) * np.sqrt(2.0 / v.shape[1]) * 0.01) + 1.0,
                               rtol=1e-4, atol=1e-4)
    clone = kl.EqualizedDense.from_config(dense.get_config())
    assert clone.lr_multiplier == 0.01 and clone.units == 6


def test_pixel_norm_gives_unit_channel_rms():
    x = np.random.default_rng(1).normal(scale=7.0, size=(3, 4, 4, 8)).astype("float32")
    y = np.asarray(kl.PixelNorm()(x))
    np.testing.assert_allclose(np.sqrt(np.mean(y ** 2, axis=-1)), 1.0, rtol=1e-5)
