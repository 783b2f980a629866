"""Input | output | target rows for models whose inputs come from data (image-to-image, text-to-image).

Each row feeds one example of the data features to the model: its image inputs (shown as images), its
output, and the data's target feature (`target_feature` of the model) when the features have it.
Text inputs are listed in a table beside the grid, one line per row.
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError
from kgan.gallery.sections import Section, Table, match_shape
from kgan.imageio import to_uint8
from kgan.models import surface

ROWS = 8


def _as_uint8(images, shape) -> np.ndarray:
    images = np.asarray(images)
    return match_shape(images if images.dtype == np.uint8 else to_uint8(images), shape)


def paired_section(src, features: dict | None, writer, seed: int) -> Section:
    target = src.target_feature
    sec = Section("paired", "Input | output | target",
                  "Each row: the model's image inputs from the data, its output"
                  + (f", and the data's target `{target}`." if target else "."))
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
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
    columns = [_as_uint8(inputs[s.name], src.image_shape) for s in src.specs if s.draw == "image"]
    columns.append(src.generate(inputs))
    titles = [s.name for s in src.specs if s.draw == "image"] + ["output"]
    if target and target in features:
        columns.append(_as_uint8(np.asarray(features[target])[:n], src.image_shape))
        titles.append(target)
    elif target:
        sec.notes.append(f"Missing: the data has no target feature {target!r}.")
    grid = np.stack(columns, axis=1).reshape((-1,) + columns[-1].shape[1:])
    sec.items.append(writer.grid("paired.png", grid, len(columns), " | ".join(titles)))
    texts = [s for s in src.specs if s.draw == "string"]
    if texts:
        sec.items.append(Table(["row", *[s.name for s in texts]],
                               [[str(i), *[_text(inputs[s.name][i]) for s in texts]] for i in range(n)]))
    return sec


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
