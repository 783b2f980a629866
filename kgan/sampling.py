"""Sampling from whatever the user points at: a run directory, one checkpoint, or an export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgan.errors import CheckpointError, DataError
from kgan.export.versions import is_export
from kgan.models import surface
from kgan.runs import split_checkpoint


def check_drawable(specs, where) -> None:
    """A one-line error for models whose inputs come from data (image-to-image, text-to-image)."""
    needs = [f"{s.name} (data feature {s.feature!r})" for s in specs if not s.drawable]
    if needs:
        raise DataError(f"{where}: the model needs data inputs {', '.join(needs)}; a seed alone cannot "
                        "sample it (render a gallery with --data instead)")


def sample_images(source: str | Path, n: int, seed: int = 0, version: int | None = None) -> np.ndarray:
    """n uint8 NHWC samples: the model's inputs drawn from `seed` (categorical inputs cycling 0..K-1);
    an export samples through its own `sample` signature."""
    from kgan.imageio import to_uint8
    from kgan.training import load_run

    path = Path(source)
    if is_export(path):
        from kgan.export.served import ServedModel

        served = ServedModel(path, version)
        check_drawable(served.specs, source)
        return served.sample(n, seed=seed)
    run_dir, checkpoint = split_checkpoint(path)
    if not run_dir.exists():
        raise CheckpointError(f"{source}: no such run directory, checkpoint or export")
    _, gan, _ = load_run(run_dir, checkpoint)
    specs = gan.inference_inputs()
    check_drawable(specs, source)
    return to_uint8(gan.infer(surface.fixed_inputs(specs, n, seed)))
