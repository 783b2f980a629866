"""Caption consistency on held-out combinations: captions that pair a digit with an attribute bin never phrased
in training (`kgan.data.captions.HELD_OUT`: "a thick seven", "a three slanted ... "), asked of the model.

Each combination is phrased in `PHRASINGS` templates, each with `per_phrasing` latent draws; the digit accuracy and
the agreement of the held-out attribute are measured as in `caption_consistency`. Above chance (about 1/3) means
the model composes a digit with an attribute it only saw on other digits. Needs the model itself, conditioned on
captions (`texts`: it is evaluated on captioned data).
"""

from __future__ import annotations

import numpy as np

from kgan.data import attributes, captions
from kgan.imageio import to_uint8
from kgan.metrics.registry import Headline, Metric, register
from kgan.models import surface

PHRASINGS = 4


def held_out_consistency(generator, extractor, *, per_phrasing: int = 16, seed: int = 0,
                         batch_size: int = 256) -> dict:
    text = next((s for s in generator.specs if s.draw == "string"), None)
    if text is None or not extractor.num_classes:
        return {}
    asked = [(combo, caption) for combo, caption in captions.held_out_captions(PHRASINGS, seed)
             for _ in range(per_phrasing)]
    rng = np.random.default_rng(seed)
    drawn = [s for s in generator.specs if s.drawable]
    images = []
    for start in range(0, len(asked), batch_size):
        chunk = asked[start:start + batch_size]
        inputs = {**surface.draw_numpy(drawn, len(chunk), rng),
                  **{s.name: np.array([c for _, c in chunk], object) for s in generator.specs if s.draw == "string"}}
        images.append(to_uint8(generator.fn(inputs)))
    images = np.concatenate(images)
    predicted = np.argmax(extractor.probs(images), axis=1)
    measured = attributes.measured_bins(images)
    hits_digit = np.array([predicted[i] == combo[0] for i, (combo, _) in enumerate(asked)])
    hits_attr = np.array([measured[combo[1]][i] == attributes.BINS[combo[1]].index(combo[2])
                          for i, (combo, _) in enumerate(asked)])
    per = {f"{b} {captions.DIGITS[d]}":
           float(hits_attr[[i for i, (c, _) in enumerate(asked) if c == (d, a, b)]].mean())
           for d, a, b in captions.HELD_OUT}
    return {"digit_accuracy": float(hits_digit.mean()), "attribute_agreement": float(hits_attr.mean()),
            "per_combination": per, "num_samples": len(asked)}


register(Metric("held_out_captions", {"generator", "probs", "texts"},
                lambda x, **kw: held_out_consistency(x.generator, x.extractor, seed=x.seed, **kw),
                [Headline("digit_accuracy", "held-out digit acc."),
                 Headline("attribute_agreement", "held-out attr. agree.")],
                "higher", "caption consistency on digit/attribute combinations never phrased in training"))
