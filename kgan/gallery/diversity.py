"""Output diversity: one input fed K times to a model whose inference draws noise (`inference_noise` on its
declared surface), and how much the K images differ.

Shown only when the model declares inference noise: for a deterministic model the K images would be equal
by construction. The K copies go through the model in one batch, so each row gets its own draw of the noise.
The caption gives the per-pixel standard deviation across the K images (uint8 levels, averaged over pixels)
and says so plainly when it is about 0: noise that barely changes the output (dropout kept on at inference
is known for this: Isola et al. 2017 observe "only minor stochasticity") is not a source of diversity.
"""

from __future__ import annotations

import numpy as np

from kgan import triptych
from kgan.errors import DataError
from kgan.gallery.sections import Section

DRAWS = 8
#: a mean per-pixel std below this many uint8 levels is reported as about 0 (invisible differences)
NEGLIGIBLE = 1.0


def spread(images: np.ndarray) -> float:
    """Mean over pixels of the standard deviation across the images (uint8 levels, 0..127.5)."""
    return float(np.asarray(images, np.float64).std(axis=0).mean())


def diversity_section(src, features: dict | None, writer, seed: int) -> Section:
    sec = Section("diversity", "Output diversity",
                  f"One input, {DRAWS} outputs: the model's inference draws noise ({src.inference_noise}), so "
                  "the same input is fed once per column, each with its own draw.")
    if not src.available:
        sec.notes.append(f"Missing: no model ({src.unavailable}).")
        return sec
    try:
        inputs = src.draw(1, seed + 6, data=features)
    except DataError as e:
        sec.notes.append(f"Missing: {e}")
        return sec
    outputs = src.generate({k: np.repeat(v, DRAWS, axis=0) for k, v in inputs.items()})
    shown, titles = triptych.image_inputs(src.specs, inputs, outputs.shape[1:], 1)
    std = spread(outputs)
    verdict = (f" (about 0: the {DRAWS} outputs are practically identical, so this noise gives no real diversity)"
               if std < NEGLIGIBLE else "")
    images = np.concatenate([*shown, outputs])
    sec.items.append(writer.grid("diversity.png", images, len(images),
                                 " | ".join([*titles, f"{DRAWS} draws"])
                                 + f"; per-pixel std across the draws: {std:.2f} of 255{verdict}"))
    return sec
