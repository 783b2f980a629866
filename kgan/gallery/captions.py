"""Captions and samples of a text-conditioned model: rows of captions, each with the same latent draws per column,
and caption interpolation rows ("a thin seven" -> "a thick seven"); the page lists every caption used.

The captions are the first distinct ones of the data's `text` feature (the run's evaluation examples). The
interpolation rows come from the direction a text model serves for it (`kgan.models.surface.INTERPOLATE`), the mix
stepping from 0 to 1 with one latent draw per row; a model that serves none shows no interpolation rows.
"""

from __future__ import annotations

import numpy as np

from kgan.data import captions as cap
from kgan.gallery.sections import Group, Section, Table
from kgan.models import surface

ROWS = 8
COLUMNS = 8
STEPS = 8


def _texts(features, feature: str) -> list[str]:
    """The distinct captions of the data feature `feature`, in order."""
    seen = []
    for value in np.asarray(features.get(feature, [])):
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if text not in seen:
            seen.append(text)
    return seen


def interpolation_pairs(texts: list[str], rows: int = 4) -> list[tuple[str, str]]:
    """("a thin D", "a thick D") for the first digits the captions name; else consecutive captions."""
    digits = list(dict.fromkeys(d for d, _ in map(cap.requested, texts) if d is not None))[:rows]
    if digits:
        return [(f"a thin {cap.DIGITS[d]}", f"a thick {cap.DIGITS[d]}") for d in digits]
    return list(zip(texts[:rows], texts[1:rows + 1]))


def captions_section(src, features: dict | None, writer, seed: int) -> Section:
    sec = Section("captions", "Captions",
                  f"Each row: one caption, {COLUMNS} samples; column j uses the same latent draw in every row, so a "
                  "column shows what the caption alone changes. Interpolation rows: the text embedding moves from "
                  "the first caption to the second (mix 0 to 1), one latent draw per row.")
    if sec.lacks_model(src):
        return sec
    text_specs = [s for s in src.specs if s.draw == "string"]
    every = _texts(features or {}, text_specs[0].feature)
    texts = every[:ROWS]
    if not texts:
        sec.notes.append(f"Missing: no captions (the data feature {text_specs[0].feature!r}) to ask the model for.")
        return sec
    drawn = [s for s in src.specs if s.drawable]
    columns = surface.fixed_inputs(drawn, COLUMNS, seed)
    inputs = {**{k: np.tile(v, (len(texts),) + (1,) * (v.ndim - 1)) for k, v in columns.items()},
              **{s.name: np.repeat(np.array(texts, object), COLUMNS) for s in text_specs}}
    sec.items.append(writer.grid("captions.png", src.generate(inputs), COLUMNS, "one caption per row"))
    used = [["row " + str(i), t] for i, t in enumerate(texts)]
    interpolate = src.direction(surface.INTERPOLATE)
    if interpolate is not None:
        pairs = interpolation_pairs(every)
        specs, generate = interpolate
        rows = surface.fixed_inputs([s for s in specs if s.drawable and s.name != surface.MIX], len(pairs), seed + 1)
        given = surface.interpolation_inputs(specs, rows, [a for a, _ in pairs], [b for _, b in pairs], STEPS)
        sec.items.append(Group([writer.grid("caption_interpolation.png", generate(given), STEPS,
                                            "caption interpolation, one pair per row")]))
        used += [[f"interpolation {i}", f"{a} -> {b}"] for i, (a, b) in enumerate(pairs)]
    else:
        sec.notes.append(f"No interpolation rows: the model serves no {surface.INTERPOLATE!r} direction.")
    sec.items.append(Table(["where", "caption"], used, "captions used"))
    return sec
