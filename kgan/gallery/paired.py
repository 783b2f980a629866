"""Input | output | target rows for models whose inputs come from data (image-to-image, text-to-image).

Each row feeds one example of the data features to the model: its image inputs (shown as images), its
output, and the data's target feature (`target_feature` of the model) when the features have it.
Text inputs are listed in a table beside the grid, one line per row.
"""

from __future__ import annotations

import numpy as np

from kgan import triptych
from kgan.errors import DataError
from kgan.gallery.sections import Section, Table
from kgan.models import surface

ROWS = 8


def paired_section(src, features: dict | None, writer, seed: int) -> Section:
    target = src.target_feature
    sec = Section("paired", "Input | output | target",
                  "Each row: the model's image inputs from the data, its output"
                  + (f", and the data's target `{target}`." if target else "."))
    if sec.lacks_model(src):
        return sec
    needed = surface.data_features(src.specs)
    if not features:
        sec.notes.append(f"Missing: no data features {needed} to feed the model (pass features= to render_gallery).")
        return sec
    n = min([ROWS, *(len(features[f]) for f in needed if f in features)])
    try:
        inputs = src.draw(n, seed, data=features)
    except DataError as e:
        sec.notes.append(f"Missing: {e}")
        return sec
    targets = {target: np.asarray(features[target])[:n]} if target and target in features else {}
    if target and not targets:
        sec.notes.append(f"Missing: the data has no target feature {target!r}.")
    grid, titles = triptych.compose(src.specs, inputs, src.generate(inputs), targets)
    sec.items.append(writer.grid("paired.png", triptych.flat(grid), grid.shape[1], " | ".join(titles)))
    texts = [s for s in src.specs if s.draw == "string"]
    if texts:
        sec.items.append(Table(["row", *[s.name for s in texts]],
                               [[str(i), *[_text(inputs[s.name][i]) for s in texts]] for i in range(n)]))
    return sec


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
