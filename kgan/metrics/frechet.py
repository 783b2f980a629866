"""FID: Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017).

    d^2 = ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))

(The seeds' slide puts a square root over the mean term; the paper and every reference
implementation do not.) `Tr (S1 S2)^(1/2)` is computed as the sum of square roots of the
eigenvalues of the symmetric PSD matrix `S1^(1/2) S2 S1^(1/2)`, which has the same spectrum as
`S1 S2`. Unlike `scipy.linalg.sqrtm` on the non-symmetric product, this needs no epsilon offset and
stays real and exact when covariances are singular (fewer samples than feature dimensions).
"""

from __future__ import annotations

import numpy as np

from kgan.metrics.registry import Headline, Metric, register


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def trace_sqrt_product(s1: np.ndarray, s2: np.ndarray) -> float:
    """Tr((S1 S2)^(1/2)) for symmetric PSD S1, S2."""
    r = _psd_sqrt(s1)
    m = r @ s2 @ r
    w = np.linalg.eigvalsh((m + m.T) / 2)
    return float(np.sum(np.sqrt(np.clip(w, 0, None))))


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1, s2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2)
    return float(max(value, 0.0))


def fid(stats1, stats2) -> dict:
    """FID between two `RunningStats`; `num_samples` are the two set sizes."""
    return {"value": frechet_distance(stats1.mean, stats1.cov, stats2.mean, stats2.cov),
            "num_samples": [int(stats1.n), int(stats2.n)]}


register(Metric(
    "fid", {"features"}, lambda x: fid(x.sample["stats"], x.reference["stats"]),
    [Headline("value", "FID")], "lower",
    "Frechet distance between Gaussian fits of sample and reference features"))
