"""The overfitting signal: what each critic says about training reals versus held-out reals.

A critic that memorises a small training set scores its examples higher than unseen examples of the same
distribution (Karras et al. 2020, figure 1); the generator then learns from a critic that no longer generalises.
With held-out data (`data.holdout` > 0) and a model with critics (`Engine.real_critic_scores`), every history row
gets, per critic prefix P (`d`; CycleGAN `d_a`, `d_b`): `P_real_train` and `P_real_holdout`, the critic's mean raw
output on the first `n` examples of each split (inference mode, not augmented), and `P_real_gap`, their difference.
"""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "holdout")


def column_names(prefix: str) -> tuple[str, str, str]:
    return f"{prefix}_real_train", f"{prefix}_real_holdout", f"{prefix}_real_gap"


class Probe:
    """Measures the signal for one run (the examples are read once, at the first measurement)."""

    def __init__(self, data_cfg, seed: int, n: int = 256):
        self.data_cfg, self.seed, self.n = data_cfg, seed, n
        self._batches = None

    def batches(self, model) -> dict:
        from kgan.data.features import feature_arrays

        if self._batches is None:
            self._batches = {} if not self.data_cfg.holdout else {
                split: model.batch_features(feature_arrays(self.data_cfg, self.n, seed=self.seed, split=split))
                for split in SPLITS}
        return self._batches

    def measure(self, model) -> dict:
        """{column: value} for a history row; {} without held-out data or critics."""
        batches = self.batches(model)
        if not batches:
            return {}
        scores = {split: model.real_critic_scores(batch) for split, batch in batches.items()}
        row = {}
        for prefix in scores["train"]:
            train, holdout = (float(np.mean(np.asarray(scores[s][prefix]))) for s in SPLITS)
            row.update(zip(column_names(prefix), (train, holdout, train - holdout)))
        return row
