"""Class-histogram mode coverage: which classes the extractor's classifier sees in the samples.

A class counts as covered when it receives at least `min_share` of its fair share (1/K) of the
argmax predictions (default one half), so a few misclassified stragglers do not count as a
mode. `kl_uniform` = KL(histogram || uniform) is 0 for perfectly balanced samples, log K for one class.
"""

from __future__ import annotations

import numpy as np

from kgan.metrics.registry import Headline, Metric, register


def class_coverage(probs: np.ndarray, min_share: float = 0.5) -> dict:
    p = np.asarray(probs)
    k = p.shape[1]
    hist = np.bincount(p.argmax(axis=1), minlength=k) / len(p)
    covered = hist >= min_share / k
    kl = float(np.sum(np.where(hist > 0, hist * np.log(np.clip(hist * k, 1e-30, None)), 0.0)))
    return {"coverage": float(covered.mean()), "kl_uniform": kl, "min_share": min_share,
            "histogram": [round(float(h), 6) for h in hist]}


register(Metric(
    "coverage", {"probs"}, lambda x, **kw: class_coverage(x.sample["probs"], **kw),
    [Headline("coverage", "class coverage"), Headline("kl_uniform", "KL(hist||unif)", "lower")],
    "higher", "share of classes the samples cover, and KL of the class histogram to uniform"))
