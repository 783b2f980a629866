"""A linear probe on an autoencoder's codes: how linearly readable the class is from the code.

The labelled held-out codes are split in two halves (first half to fit, second to test); codes are standardized
with the fitting half's statistics and a ridge-regularized least-squares map to one-hot classes (closed form,
deterministic) predicts the argmax. Chance is 1 / classes.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError
from kgan.metrics import codes
from kgan.metrics.registry import Headline, Metric, register


def probe_accuracy(train_codes, train_labels, test_codes, test_labels, ridge: float = 1e-3) -> float:
    """Accuracy on the test codes of the ridge least-squares linear classifier fitted on the training codes."""
    mean, std = train_codes.mean(axis=0), train_codes.std(axis=0) + 1e-8
    design = np.hstack([(train_codes - mean) / std, np.ones((len(train_codes), 1))])
    classes = int(max(train_labels.max(), test_labels.max())) + 1
    targets = np.eye(classes)[train_labels]
    weights = np.linalg.solve(design.T @ design + ridge * len(design) * np.eye(design.shape[1]), design.T @ targets)
    test = np.hstack([(test_codes - mean) / std, np.ones((len(test_codes), 1))])
    return float(((test @ weights).argmax(axis=1) == test_labels).mean())


def linear_probe(inputs) -> dict:
    known, labels = codes.labelled(inputs)
    encoded, labels = codes.codes(inputs)[known].astype(np.float64), labels[known]
    half = len(encoded) // 2
    if half < 2:
        raise DataError(f"the linear probe needs at least 4 labelled held-out examples, got {len(encoded)}")
    return {"accuracy": probe_accuracy(encoded[:half], labels[:half], encoded[half:], labels[half:]),
            "num_fit": int(half), "num_test": int(len(encoded) - half)}


register(Metric("probe_accuracy", {"encoder"}, linear_probe, [Headline("accuracy", "probe accuracy")], "higher",
                "linear probe (ridge least squares) on the codes of held-out images: class accuracy, half fit, "
                "half tested"))
