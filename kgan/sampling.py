"""Sampling from whatever the user points at: a run directory, one checkpoint, or an export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgan.errors import CheckpointError
from kgan.export.versions import is_export


def _split_checkpoint(path: Path):
    """RUN/checkpoints/ckpt-N -> (RUN, path); RUN -> (RUN, None)."""
    if path.parent.name == "checkpoints" and path.name.startswith("ckpt-"):
        return path.parent.parent, str(path)
    return path, None


def sample_images(source: str | Path, n: int, seed: int = 0, version: int | None = None) -> np.ndarray:
    """n uint8 NHWC samples; z ~ N(0, I) from `seed`, class labels cycling for conditional models."""
    from kgan.imageio import to_uint8
    from kgan.training import load_run

    path = Path(source)
    if is_export(path):
        from kgan.export import sample_from_export

        return sample_from_export(path, n, seed=seed, version=version)
    run_dir, checkpoint = _split_checkpoint(path)
    if not run_dir.exists():
        raise CheckpointError(f"{source}: no such run directory, checkpoint or export")
    _, gan, _ = load_run(run_dir, checkpoint)
    z = np.random.default_rng(seed).standard_normal((n, gan.latent_dim)).astype("float32")
    labels = (np.arange(n) % gan.num_classes).astype("int32") if gan.num_classes else None
    return to_uint8(gan.generate(z, labels))
