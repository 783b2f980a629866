"""Samples of an unconditional model in rows by the evaluation classifier's predicted class.

An unconditional model cannot be asked for a class, but the classifier that scores it can say what each
sample looks like: the rows show which classes the model makes, how often, and which it never makes
(dropped modes) at a glance. The classes are the classifier's predictions, not labels the model was
given, and the section says so.
"""

from __future__ import annotations

import numpy as np

from kgan.gallery.sections import LabeledRows, Section

DRAWS = 500  # samples classified
PER_ROW = 10  # shown per class, most confident first


def predicted_section(src, writer, seed: int, classifier) -> Section:
    sec = Section("predicted", "Samples by predicted class",
                  f"{DRAWS} samples sorted by the class the evaluation classifier ({classifier.path}) "
                  f"predicts for them: one row per predicted class with its count, up to {PER_ROW} samples "
                  "each, most confident first. The classes are predicted, not chosen: the model is "
                  "unconditional.")
    if sec.lacks_model(src):
        return sec
    images = src.generate(src.draw(DRAWS, seed + 4))
    probs = classifier.probs(images)
    predicted = probs.argmax(axis=1)
    rows = []
    for c in range(classifier.num_classes):
        members = np.flatnonzero(predicted == c)
        if not len(members):
            continue
        shown = members[np.argsort(-probs[members, c], kind="stable")][:PER_ROW]
        rows.append((f"class {c}: {len(members)}",
                     writer.grid(f"predicted_{c:03d}.png", images[shown], PER_ROW, f"predicted class {c}")))
    sec.items.append(LabeledRows(rows, ("predicted class: count", f"up to {PER_ROW} samples")))
    never = [c for c in range(classifier.num_classes) if c not in set(predicted.tolist())]
    if never:
        sec.notes.append(f"Never predicted in {DRAWS} samples: class(es) {', '.join(map(str, never))}.")
    return sec
