"""kgan.losses against values computed by hand with numpy (never with the functions under test)."""

import numpy as np
import pytest

from kgan import losses

REAL = np.array([[-2.0], [0.0], [1.5]], dtype="float32")  # [B, 1] logits, as the discriminator returns
FAKE = np.array([[1.0], [-0.5], [3.0]], dtype="float32")


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x.astype("float64")))


def log_d(x):
    """log D(x) = log sigmoid(x), straight from the definition."""
    return np.log(sigmoid(x))


def log_1m_d(x):
    """log(1 - D(x))."""
    return np.log(1.0 - sigmoid(x))


def bce_real_part(real, t):
    return -np.mean(t * log_d(real) + (1.0 - t) * log_1m_d(real))


def expected_d(kind, real, fake, t=1.0):
    if kind in ("minimax", "non_saturating"):
        return bce_real_part(real, t) - np.mean(log_1m_d(fake))
    if kind == "least_squares":
        return 0.5 * np.mean((real - t) ** 2) + 0.5 * np.mean(fake**2)
    if kind == "wasserstein":
        return np.mean(fake) - np.mean(real)
    if kind == "hinge":
        return np.mean(np.maximum(0.0, 1.0 - real)) + np.mean(np.maximum(0.0, 1.0 + fake))
    raise AssertionError(kind)


EXPECTED_G = {
    "minimax": lambda f: np.mean(log_1m_d(f)),
    "non_saturating": lambda f: -np.mean(log_d(f)),
    "least_squares": lambda f: 0.5 * np.mean((f - 1.0) ** 2),
    "wasserstein": lambda f: -np.mean(f),
    "hinge": lambda f: -np.mean(f),
}


def value(x) -> float:
    return float(np.asarray(x))


def test_the_loss_list_is_complete():
    assert set(losses.LOSSES) == set(EXPECTED_G) == {"minimax", "non_saturating", "least_squares",
                                                      "wasserstein", "hinge"}
    assert set(losses.TARGET_LOSSES) == {"minimax", "non_saturating", "least_squares"}


@pytest.mark.parametrize("kind", losses.LOSSES)
def test_discriminator_loss_matches_hand_computation(kind):
    got = value(losses.discriminator_loss(kind, REAL, FAKE))
    assert got == pytest.approx(expected_d(kind, REAL, FAKE), rel=1e-5, abs=1e-6)


def test_discriminator_loss_spot_values():
    # Independent of the helper above: a few numbers worked out on paper.
    # BCE at logit 0 is log 2 for either target; LS with all-zero logits is 1/2 * 1 + 1/2 * 0.
    zero = np.zeros((4, 1), "float32")
    assert value(losses.discriminator_loss("minimax", zero, zero)) == pytest.approx(2 * np.log(2.0), rel=1e-6)
    assert value(losses.discriminator_loss("least_squares", zero, zero)) == pytest.approx(0.5)
    assert value(losses.discriminator_loss("hinge", zero, zero)) == pytest.approx(2.0)
    # hinge: relu(1 - 2) = 0 and relu(1 + (-3)) = 0 -> a confident, correct critic has zero loss
    assert value(losses.discriminator_loss("hinge", np.full((2, 1), 2.0), np.full((2, 1), -3.0))) == 0.0
    # wasserstein: E[fake] - E[real] = 1 - 4
    assert value(losses.discriminator_loss("wasserstein", np.full((2, 1), 4.0), np.ones((2, 1)))) == -3.0


@pytest.mark.parametrize("kind", losses.LOSSES)
def test_generator_loss_matches_hand_computation(kind):
    got = value(losses.generator_loss(kind, FAKE))
    assert got == pytest.approx(EXPECTED_G[kind](FAKE), rel=1e-5, abs=1e-6)


def test_minimax_and_non_saturating_generator_losses_differ():
    # Same fixed point (D(G(z)) -> 1 is good for G) but different functions: a confident D
    # (fake logit -5) saturates minimax (~ -0.0067) while non-saturating stays large (~5).
    fake = np.full((2, 1), -5.0, "float32")
    assert value(losses.generator_loss("minimax", fake)) == pytest.approx(np.log(1 - sigmoid(np.float64(-5))),
                                                                          rel=1e-5)
    assert value(losses.generator_loss("non_saturating", fake)) == pytest.approx(-np.log(sigmoid(np.float64(-5))),
                                                                                 rel=1e-5)


def test_sigmoid_losses_are_stable_for_large_logits():
    big = np.array([[80.0], [-80.0]], "float32")
    for kind in ("minimax", "non_saturating"):
        assert np.isfinite(value(losses.discriminator_loss(kind, big, big)))
        assert np.isfinite(value(losses.generator_loss(kind, big)))
    # -log sigmoid(-80) = 80 (to float precision): the softplus identity, not log(0)
    assert value(losses.generator_loss("non_saturating", np.array([[-80.0]], "float32"))) == pytest.approx(80.0)


@pytest.mark.parametrize("kind", ["minimax", "non_saturating", "least_squares"])
def test_soft_real_target_changes_only_the_real_part(kind):
    hard = value(losses.discriminator_loss(kind, REAL, FAKE))
    soft = value(losses.discriminator_loss(kind, REAL, FAKE, real_target=0.9))
    assert soft == pytest.approx(expected_d(kind, REAL, FAKE, t=0.9), rel=1e-5)
    assert soft != pytest.approx(hard, rel=1e-4)
    # The fake part is untouched: changing only the fake logits moves both losses by the same amount.
    fake2 = FAKE + 0.7
    d_hard = value(losses.discriminator_loss(kind, REAL, fake2)) - hard
    d_soft = value(losses.discriminator_loss(kind, REAL, fake2, real_target=0.9)) - soft
    assert d_soft == pytest.approx(d_hard, rel=1e-4, abs=1e-6)
    # ... and the change in the total equals the change in the real part alone.
    if kind == "least_squares":
        real_delta = 0.5 * np.mean((REAL - 0.9) ** 2) - 0.5 * np.mean((REAL - 1.0) ** 2)
    else:
        real_delta = bce_real_part(REAL, 0.9) - bce_real_part(REAL, 1.0)
    assert soft - hard == pytest.approx(real_delta, rel=1e-4, abs=1e-6)


def test_per_example_targets_broadcast():
    t = np.array([[1.0], [0.8], [0.95]], "float32")
    got = value(losses.discriminator_loss("non_saturating", REAL, FAKE, real_target=t))
    want = -np.mean(t * log_d(REAL) + (1 - t) * log_1m_d(REAL)) - np.mean(log_1m_d(FAKE))
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("fn", [lambda k: losses.discriminator_loss(k, REAL, FAKE),
                                lambda k: losses.generator_loss(k, FAKE)], ids=["discriminator", "generator"])
@pytest.mark.parametrize("kind", ["vanilla", "", "Hinge"])
def test_unknown_loss_name_raises(fn, kind):
    with pytest.raises(ValueError, match="unknown loss"):
        fn(kind)


def test_penalties_from_gradients():
    # Two examples with gradient norms 5 (3-4-0) and 1 (0-0-1).
    grads = np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 1.0]], "float32").reshape(2, 3, 1, 1)
    np.testing.assert_allclose(np.asarray(losses.squared_gradient_norms(grads)), [25.0, 1.0])
    assert value(losses.gradient_penalty_from_gradients(grads)) == pytest.approx(((5 - 1) ** 2 + 0) / 2, rel=1e-5)
    assert value(losses.r1_penalty_from_gradients(grads)) == pytest.approx(0.5 * (25 + 1) / 2)


def test_feature_matching_loss():
    real = np.array([[1.0, 2.0], [3.0, 4.0]], "float32")   # mean [2, 3]
    fake = np.array([[0.0, 0.0], [2.0, 2.0]], "float32")   # mean [1, 1]
    assert value(losses.feature_matching_loss(real, fake)) == pytest.approx(1.0 + 4.0)
    assert value(losses.feature_matching_loss(real, real)) == 0.0
