"""Output diversity: one input fed K times to a model whose inference draws noise (`inference_noise` on its
declared surface) or that takes its noise as `seed` inputs (StyleGAN's per-layer noise: the seeds' stochastic
variation, the same w with K noise draws), and how much the K images differ, with the per-pixel std map.

Shown only when the model has such noise: for a deterministic model the K images would be equal by construction.
The K copies go through the model in one batch, so each row gets its own draw of the noise (its own seed).
The caption gives the per-pixel standard deviation across the K images (uint8 levels, averaged over pixels)
and says so plainly when it is about 0: noise that barely changes the output (dropout kept on at inference
is known for this: Isola et al. 2017 observe "only minor stochasticity") is not a source of diversity.
"""

from __future__ import annotations

import numpy as np

from kgan import triptych
from kgan.errors import DataError
from kgan.gallery.sections import Section
from kgan.models import surface

DRAWS = 8
#: a mean per-pixel std below this many uint8 levels is reported as about 0 (invisible differences)
NEGLIGIBLE = 1.0


def spread(images: np.ndarray) -> float:
    """Mean over pixels of the standard deviation across the images (uint8 levels, 0..127.5)."""
    return float(np.asarray(images, np.float64).std(axis=0).mean())


def noise_source(src) -> str:
    """What makes one input give several outputs: the model's seed inputs (redrawn per copy) or its declared
    inference noise; "" for a deterministic model."""
    seeds = [s.name for s in src.specs if s.draw == "seed"]
    if seeds:
        return f"the noise drawn from its seed input {', '.join(seeds)}, a new seed per column, all else fixed"
    return src.inference_noise


def std_map(images: np.ndarray) -> np.ndarray:
    """[1, H, W, C] uint8: the per-pixel std across the images (mean over channels), white = the largest."""
    std = np.asarray(images, np.float64).std(axis=0).mean(axis=-1, keepdims=True)
    scaled = std / std.max() * 255.0 if std.max() > 0 else std
    return np.repeat(np.round(scaled).astype(np.uint8), images.shape[-1], axis=-1)[None]


def diversity_section(src, features: dict | None, writer, seed: int) -> Section:
    sec = Section("diversity", "Output diversity",
                  f"One input, {DRAWS} outputs: the model draws noise ({noise_source(src)}), so the same input is "
                  "fed once per column, each with its own draw; the last image is the per-pixel standard deviation "
                  "across them (white = the largest).")
    if sec.lacks_model(src):
        return sec
    try:
        inputs = src.draw(1, seed + 6, data=features)
    except DataError as e:
        sec.notes.append(f"Missing: {e}")
        return sec
    copies = {k: np.repeat(v, DRAWS, axis=0) for k, v in inputs.items()}
    seed_specs = [s for s in src.specs if s.draw == "seed"]
    copies.update(surface.draw_numpy(seed_specs, DRAWS, np.random.default_rng(seed + 7)))
    outputs = src.generate(copies)
    shown, titles = triptych.image_inputs(src.specs, inputs, outputs.shape[1:], 1)
    std = spread(outputs)
    verdict = (f" (about 0: the {DRAWS} outputs are practically identical, so this noise gives no real diversity)"
               if std < NEGLIGIBLE else "")
    images = np.concatenate([*shown, outputs, std_map(outputs)])
    sec.items.append(writer.grid("diversity.png", images, len(images),
                                 " | ".join([*titles, f"{DRAWS} draws", "std map"])
                                 + f"; per-pixel std across the draws: {std:.2f} of 255{verdict}"))
    return sec
