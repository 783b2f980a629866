"""Adversarial losses and discriminator regularizers as pure functions of logits.

The discriminator always outputs raw logits (no sigmoid): the sigmoid-based losses use the
numerically stable `softplus` identities, log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l).
Every function returns a scalar: the mean over the local batch.
"""

from __future__ import annotations

from keras import ops

LOSSES = ("minimax", "non_saturating", "least_squares", "wasserstein", "hinge")
#: Losses whose targets are probabilities, so label smoothing / label noise mean something.
TARGET_LOSSES = ("minimax", "non_saturating", "least_squares")


def _bce(logits, target):
    """Binary cross-entropy against a (possibly soft) target, on logits."""
    return target * ops.softplus(-logits) + (1.0 - target) * ops.softplus(logits)


def discriminator_loss(kind: str, real_logits, fake_logits, real_target=1.0, fake_target=0.0):
    """D's loss. `real_target`/`fake_target` may be scalars or per-example tensors (smoothing, noise).

    minimax / non_saturating: -[t log D(x) + (1-t) log(1-D(x))] summed over real and fake (Goodfellow).
    least_squares: 1/2 E[(D(x)-b)^2] + 1/2 E[(D(G(z))-a)^2] with a=0, b=1 (LSGAN).
    wasserstein: E[D(G(z))] - E[D(x)] (the critic maximizes the distance estimate).
    hinge: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))].
    """
    if kind in ("minimax", "non_saturating"):
        return ops.mean(_bce(real_logits, real_target)) + ops.mean(_bce(fake_logits, fake_target))
    if kind == "least_squares":
        return 0.5 * ops.mean(ops.square(real_logits - real_target)) + 0.5 * ops.mean(
            ops.square(fake_logits - fake_target))
    if kind == "wasserstein":
        return ops.mean(fake_logits) - ops.mean(real_logits)
    if kind == "hinge":
        return ops.mean(ops.relu(1.0 - real_logits)) + ops.mean(ops.relu(1.0 + fake_logits))
    raise ValueError(f"unknown loss {kind!r}; choose from {LOSSES}")


def generator_loss(kind: str, fake_logits):
    """G's loss.

    minimax: E[log(1 - D(G(z)))] (saturates when D wins early, kept for fidelity to the paper).
    non_saturating: -E[log D(G(z))] (the default: strong gradients early in training).
    least_squares: 1/2 E[(D(G(z)) - 1)^2]. wasserstein / hinge: -E[D(G(z))].
    """
    if kind == "minimax":
        return -ops.mean(ops.softplus(fake_logits))
    if kind == "non_saturating":
        return ops.mean(ops.softplus(-fake_logits))
    if kind == "least_squares":
        return 0.5 * ops.mean(ops.square(fake_logits - 1.0))
    if kind in ("wasserstein", "hinge"):
        return -ops.mean(fake_logits)
    raise ValueError(f"unknown loss {kind!r}; choose from {LOSSES}")


def output_logs(kind: str, real_logits, fake_logits) -> dict:
    """What the critic says, for the logs: D(x), D(G(z)) as probabilities for the sigmoid losses, raw scores
    otherwise, and the Wasserstein distance estimate for `wasserstein`."""
    squash = ops.sigmoid if kind in ("minimax", "non_saturating") else (lambda t: t)
    logs = {"d_real": ops.mean(squash(real_logits)), "d_fake": ops.mean(squash(fake_logits))}
    if kind == "wasserstein":
        logs["w_distance"] = ops.mean(real_logits) - ops.mean(fake_logits)
    return logs


def output_log_names(kind: str) -> tuple:
    """The names `output_logs(kind, ...)` returns (a term declares its diagnostics before the step)."""
    return ("d_real", "d_fake") + (("w_distance",) if kind == "wasserstein" else ())


def decision_boundary(kind: str) -> float:
    """The critic output between "real" and "fake" for loss `kind`: 0.5 for least squares (targets 1 and 0), 0 for
    logits and scores. ADA's overfitting heuristic E[sign(D(x) - boundary)] is taken about it."""
    return 0.5 if kind == "least_squares" else 0.0


def squared_gradient_norms(gradients):
    """Per-example squared L2 norm of a batch of input gradients [B, ...]."""
    return ops.sum(ops.reshape(ops.square(gradients), (ops.shape(gradients)[0], -1)), axis=1)


def gradient_penalty_from_gradients(gradients):
    """WGAN-GP: E[(||grad D(x_hat)||_2 - 1)^2] at interpolates x_hat (Gulrajani et al. 2017)."""
    norms = ops.sqrt(squared_gradient_norms(gradients) + 1e-12)
    return ops.mean(ops.square(norms - 1.0))


def r1_penalty_from_gradients(gradients):
    """R1: 1/2 E[||grad D(x)||^2] on real data (Mescheder et al. 2018); multiply by gamma."""
    return 0.5 * ops.mean(squared_gradient_norms(gradients))


def feature_matching_loss(real_features, fake_features):
    """Salimans et al. 2016: || E f(x) - E f(G(z)) ||^2 on an intermediate D layer."""
    return ops.sum(ops.square(ops.mean(real_features, axis=0) - ops.mean(fake_features, axis=0)))
