"""Inception Score: exp(E_x KL(p(y|x) || p(y))), mean and std over splits (Salimans et al.).

High when each prediction is confident and the marginal is spread; it looks only at generated
samples, so it cannot see a mismatch with the real data (see the seeds' criticism).
"""

from __future__ import annotations

import numpy as np

from kgan.errors import ConfigError
from kgan.metrics.registry import Headline, Metric, register


def inception_score(probs: np.ndarray, splits: int = 10) -> dict:
    p = np.asarray(probs, np.float64)
    if len(p) < splits:
        raise ConfigError(f"inception score needs at least {splits} samples, got {len(p)}")
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * (np.log(np.clip(part, 1e-30, None)) -
                                        np.log(np.clip(py, 1e-30, None))), 0.0).sum(axis=1)
        scores.append(np.exp(kl.mean()))
    return {"mean": float(np.mean(scores)), "std": float(np.std(scores)), "splits": splits}


register(Metric(
    "is", {"probs"}, lambda x, **kw: inception_score(x.sample["probs"], **kw),
    [Headline("mean", "IS")], "higher",
    "Inception Score: confident and varied class predictions (samples only)"))
