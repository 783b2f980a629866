"""Sampling from whatever the user points at: a run directory, one checkpoint, or an export.

Samples come in chunks of CHUNK images, so any number of them fits in memory. Chunk i is drawn from
`chunk_seed(seed, i)` and always at its full size (a short last chunk is cut, never drawn short), so
for a given seed the images form one fixed stream: the first m images are the same for every n >= m.
Chunk 0 is drawn from `seed` itself (for a run: `surface.fixed_inputs(specs, CHUNK, seed)`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from kgan.errors import CheckpointError, DataError
from kgan.export.versions import is_export
from kgan.models import surface
from kgan.runs import split_checkpoint

CHUNK = 256

Sampler = Callable[[int, int], np.ndarray]  # (count, seed) -> count uint8 NHWC images


def check_drawable(specs, where, texts: list | None = None) -> None:
    """A one-line error for models whose inputs come from data (image-to-image; text-to-image without `texts`)."""
    needs = [f"{s.name} (data feature {s.feature!r})" for s in specs
             if not s.drawable and not (s.draw == "string" and texts)]
    if needs and all(s.drawable or s.draw == "string" for s in specs):
        raise DataError(f"{where}: the model is conditioned on text inputs {', '.join(needs)}; pass them "
                        "(kgan sample --text CAPTION)")
    if needs:
        raise DataError(f"{where}: the model needs data inputs {', '.join(needs)}; a seed alone cannot "
                        "sample it (render a gallery with --data instead)")


def open_model(source: str | Path, version: int | None = None):
    """What every command that takes a model accepts: a run directory (latest checkpoint), a checkpoint
    prefix RUN/checkpoints/ckpt-N, saved_models/NAME (latest, or `version`) or saved_models/NAME/VERSION.
    An export comes back as a `ServedModel`, a run as its model; both have `specs`-describing surfaces."""
    path = Path(source)
    if is_export(path):
        from kgan.export.served import ServedModel

        return ServedModel(path, version)
    from kgan.training import load_run

    run_dir, checkpoint = split_checkpoint(path)
    if not run_dir.is_dir():
        raise CheckpointError(f"{source}: no such run directory, checkpoint or export")
    return load_run(run_dir, checkpoint)[1]


def open_sampler(source: str | Path, version: int | None = None, texts: list | None = None,
                 truncation: float = 1.0) -> Sampler:
    """Load the model at `source` (`open_model`) once: its inputs drawn from a seed (categorical inputs
    cycling 0..K-1; `truncation` as `surface.draw_numpy` applies it: the model's own psi input when it declares
    one, else a scale of the normal inputs); text inputs from `texts` (strings, cycled over the samples); an
    export samples through its own `sample` signature."""
    from kgan.export.served import ServedModel
    from kgan.imageio import to_uint8

    model = open_model(source, version)
    if isinstance(model, ServedModel):
        check_drawable(model.specs, source, texts)
        return lambda count, seed: model.sample(count, seed=seed, truncation=truncation, texts=texts)
    specs = model.inference_inputs()
    check_drawable(specs, source, texts)
    drawn = [s for s in specs if s.drawable]

    def sample(count, seed):
        given = {s.name: np.array([texts[i % len(texts)] for i in range(count)], object)
                 for s in specs if s.draw == "string"}
        return to_uint8(model.infer({**surface.fixed_inputs(drawn, count, seed, truncation=truncation), **given}))

    return sample


def chunk_seed(seed: int, index: int) -> int:
    """The seed of chunk `index` of the stream for `seed`: `seed` itself for chunk 0, else a hash of both
    that fits the int32 seed of an export's `sample` signature."""
    if index == 0:
        return seed
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


def sample_chunks(sampler: Sampler, n: int, seed: int = 0, chunk: int = CHUNK) -> Iterator[np.ndarray]:
    """The first `n` images of the stream for `seed`, in chunks of at most `chunk` images."""
    for index, start in enumerate(range(0, n, chunk)):
        yield sampler(chunk, chunk_seed(seed, index))[: n - start]
