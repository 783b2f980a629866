"""Content preservation of an unpaired translator: does G(a) still read as a's class in the output domain?

CycleGAN has no target to compare an output with; what it should keep is the content. The evaluation
classifier (trained on the output domain's labelled images) labels each translated image, and the accuracy is
against the class of the input it was translated from (`Inputs.labels`; unlabelled inputs, -1, are left out).
Chance is 1 / classes. The identity column scores the untranslated inputs the same way (what the classifier
makes of the other domain as it is); real-vs-real and the pixel Gaussian were translated from nothing and show
no value.
"""

from __future__ import annotations

from kgan.metrics.output_accuracy import accuracy
from kgan.metrics.registry import Headline, Metric, register


def content_accuracy(inputs) -> dict:
    if inputs.labels is None or inputs.sample.get("probs") is None:
        return {}
    probs = inputs.sample["probs"]
    return accuracy(probs, inputs.labels[:len(probs)])


register(Metric("content_accuracy", {"input_labels", "probs"}, content_accuracy,
                [Headline("accuracy", "content accuracy")], "higher",
                "evaluation classifier's accuracy on translated images against their inputs' classes"))
