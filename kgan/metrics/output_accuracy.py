"""Classifier accuracy on outputs: does a translated image still read as its example's class?

The evaluation classifier (the extractor) labels each scored image; the accuracy is against the data's
labels of the examples the images were made from (unlabelled examples, label -1, are left out). L1 and
SSIM reward a blurry average; a digit that no longer reads as its digit is caught here. In the report the
real-vs-real column is the accuracy on real targets (what the classifier reaches), the identity column
the accuracy on the model's input.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError
from kgan.metrics.registry import Headline, Metric, register


def accuracy(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Share of argmax(probs) equal to `labels` over the labelled rows (label >= 0)."""
    labels = np.asarray(labels)
    known = labels >= 0
    if not known.any():
        raise DataError("output accuracy needs labelled examples; every label is -1")
    hits = np.asarray(probs)[known].argmax(axis=1) == labels[known]
    return {"accuracy": float(hits.mean()), "num_labelled": int(known.sum())}


register(Metric("output_accuracy", {"paired", "labels", "probs"},
                lambda x: accuracy(x.extractor.probs(x.pairs[0]), x.labels),
                [Headline("accuracy", "output accuracy")], "higher",
                "evaluation classifier's accuracy on the outputs against the examples' labels"))
