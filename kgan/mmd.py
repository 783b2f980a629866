"""Maximum mean discrepancy with the inverse multiquadratic kernel (Tolstikhin et al. 2018, WAE-MMD).

k(x, y) = sum over s in SCALES of C_s / (C_s + ||x - y||^2), C_s = 2 d sigma^2 s: the IMQ kernel summed over
scales around the prior N(0, sigma^2 I) in d dimensions (heavy tails keep a gradient for codes far from the
prior, where a Gaussian kernel vanishes). The estimator is the unbiased one of the paper's Algorithm 2:

    MMD = 1/(n(n-1)) sum_{l != j} k(x_l, x_j) + 1/(m(m-1)) sum_{l != j} k(y_l, y_j) - 2/(nm) sum_{l, j} k(x_l, y_j)

(no diagonal terms), so its mean over draws is 0 when both samples come from one distribution and it can be
slightly negative. One implementation, in `keras.ops`, serves the WAE-MMD loss inside the training graph and the
`prior_mmd` metric on NumPy codes.
"""

from __future__ import annotations

SCALES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)


def _squared_distances(x, y):
    from keras import ops

    xx = ops.sum(ops.square(x), axis=1, keepdims=True)
    yy = ops.sum(ops.square(y), axis=1, keepdims=True)
    return ops.maximum(xx + ops.transpose(yy) - 2.0 * ops.matmul(x, ops.transpose(y)), 0.0)


def imq_kernel(x, y, sigma2: float = 1.0, scales=SCALES):
    """[n, m] kernel matrix k(x_i, y_j) of codes x [n, d] and y [m, d]."""
    from keras import ops

    d = ops.cast(ops.shape(x)[1], x.dtype)
    distances = _squared_distances(x, y)
    total = ops.zeros_like(distances)
    for s in scales:
        c = 2.0 * d * sigma2 * s
        total = total + c / (c + distances)
    return total


def _off_diagonal_mean(k):
    from keras import ops

    n = ops.cast(ops.shape(k)[0], k.dtype)
    return (ops.sum(k) - ops.sum(ops.diagonal(k))) / (n * (n - 1.0))


def imq_mmd(x, y, sigma2: float = 1.0, scales=SCALES):
    """The unbiased MMD estimate between samples x [n, d] and y [m, d] (n, m >= 2); a float32 scalar."""
    from keras import ops

    x, y = ops.cast(x, "float32"), ops.cast(y, "float32")
    return (_off_diagonal_mean(imq_kernel(x, x, sigma2, scales)) + _off_diagonal_mean(imq_kernel(y, y, sigma2, scales))
            - 2.0 * ops.mean(imq_kernel(x, y, sigma2, scales)))
