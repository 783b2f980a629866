"""Caption consistency: do the generated images show what their captions ask for?

For each sample, the caption it was generated from (`Inputs.texts`) is read back (`kgan.data.captions.requested`):
the digit it names, and the bin of each attribute it names (thin / thick, slanted left / right, small / large,
...). The digit accuracy is the evaluation classifier's accuracy against the named digit (over the captions that
name one); the agreement of an attribute is the share of samples whose measured bin (`kgan.data.attributes`, the
same measure that phrased the training captions) is the requested one, over the captions that request it. Chance
agreement is about 1/3 (the bins are the data's tertiles). The "captioned real" reference point scores the real
images the captions describe (generated captions agree with their own image by construction, up to the digit
classifier); a class-conditional baseline shows what following the digit alone reaches.
"""

from __future__ import annotations

import numpy as np

from kgan.data import attributes, captions
from kgan.metrics.registry import Headline, Metric, register


def _decode(text) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def consistency(texts, probs, images) -> dict:
    """{digit_accuracy, attribute_agreement (mean over attributes), per-attribute agreement and counts} of samples
    (`probs`: classifier probabilities, `images`: uint8 pixels of the first rows) against the captions `texts`."""
    asked = [captions.requested(_decode(t)) for t in texts]
    out = {}
    named = [(i, d) for i, (d, _) in enumerate(asked[:len(probs)]) if d is not None]
    if named:
        rows, digits = np.array([i for i, _ in named]), np.array([d for _, d in named])
        out.update(digit_accuracy=float(np.mean(np.argmax(np.asarray(probs)[rows], axis=1) == digits)),
                   num_named=len(named))
    if images is not None and len(images):
        measured = attributes.measured_bins(images)
        per, counts = {}, {}
        for attribute in attributes.ATTRIBUTES:
            pairs = [(i, a[attribute]) for i, (_, a) in enumerate(asked[:len(images)]) if attribute in a]
            if pairs:
                rows, wanted = np.array([i for i, _ in pairs]), np.array([b for _, b in pairs])
                per[attribute] = float(np.mean(measured[attribute][rows] == wanted))
                counts[attribute] = len(pairs)
        if per:
            out.update(attribute_agreement=float(np.mean(list(per.values()))), per_attribute=per,
                       num_requested=counts)
    return out


def caption_consistency(inputs) -> dict:
    if inputs.texts is None or inputs.sample.get("probs") is None:
        return {}
    return consistency(inputs.texts, inputs.sample["probs"], inputs.sample.get("images"))


register(Metric("caption_consistency", {"texts", "probs", "images"}, caption_consistency,
                [Headline("digit_accuracy", "caption digit acc."), Headline("attribute_agreement", "attribute agree.")],
                "higher", "classifier accuracy on the digit each caption names, and agreement of the measured "
                          "thickness / slant / size bins with the requested ones"))
