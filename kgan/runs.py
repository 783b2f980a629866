"""The run directory layout: the one place that names the files a training run writes.

Training writes these paths and sampling, export, the gallery and the pipeline read them, so a
file is renamed here once instead of in every reader (layout in DESIGN.md, "Run directory").
This module imports no TensorFlow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kgan import io
from kgan.errors import CheckpointError, DataError
from kgan.models import surface


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run directory (nothing is created by building the layout)."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def run_info(self) -> Path:
        return self.root / "run.json"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def fixed_inputs(self) -> Path:
        """The fixed snapshot inputs: one array per input name."""
        return self.snapshots / "fixed_inputs.npz"

    @property
    def fixed_targets(self) -> Path:
        """What the fixed inputs of a data-fed model should become: its target feature's rows."""
        return self.snapshots / "fixed_targets.npz"

    def snapshot(self, step: int) -> Path:
        return self.snapshots / f"step_{step:07d}.npz"

    @property
    def history(self) -> Path:
        return self.root / "logs" / "history.csv"

    @property
    def events(self) -> Path:
        return self.root / "logs" / "events.log"

    @property
    def tensorboard(self) -> Path:
        return self.root / "logs" / "tensorboard"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def keras_model(self) -> Path:
        return self.root / "model.keras"


def split_checkpoint(path: str | Path) -> tuple[Path, str | None]:
    """RUN/checkpoints/ckpt-N -> (RUN, "RUN/checkpoints/ckpt-N"); RUN -> (RUN, None)."""
    path = Path(path)
    if path.parent.name == "checkpoints" and path.name.startswith("ckpt-"):
        return path.parent.parent, str(path)
    return path, None


def read_run_info(run_dir: str | Path) -> dict:
    path = RunLayout(run_dir).run_info
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: no run.json (training never finished a session here)")
    return json.loads(path.read_text())


def load_or_create_fixed_inputs(layout: RunLayout, specs, n: int, seed: int, data: dict | None = None) -> dict:
    """The inputs every snapshot renders, so snapshots of one run are comparable across steps and resumes.

    Drawn once with `surface.fixed_inputs` (categorical inputs cycle) and kept in `snapshots/fixed_inputs.npz`;
    a resumed run reads them back. A file whose arrays do not fit `specs` is a `CheckpointError`."""
    path = layout.fixed_inputs
    if not path.is_file():
        inputs = surface.fixed_inputs(specs, n, seed, data=data)
        with io.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{k: (v.astype(bytes) if v.dtype == object else v) for k, v in inputs.items()})
    with np.load(path, allow_pickle=False) as f:
        stored = {k: f[k] for k in f.files}
    strings = {s.name for s in specs if s.draw == "string"}
    stored = {k: (v.astype(object) if k in strings else v) for k, v in stored.items()}
    try:
        return surface.check_inputs(specs, stored)
    except DataError as e:
        raise CheckpointError(f"{path}: does not fit the model's inputs ({e}); delete it to draw new ones") \
            from None


def load_or_create_fixed_targets(layout: RunLayout, feature: str, data: dict | None = None) -> dict:
    """{feature: rows}: the target of the fixed examples a data-fed model's snapshots show (the rows of `data`),
    kept in `snapshots/fixed_targets.npz` so every snapshot and the gallery pair the same outputs with the
    same targets, resumes included. A file without `feature` is a `CheckpointError`."""
    path = layout.fixed_targets
    if not path.is_file():
        if data is None or feature not in data:
            raise DataError(f"fixed examples: the data has no target feature {feature!r}")
        with io.atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **{feature: np.asarray(data[feature])})
    with np.load(path, allow_pickle=False) as f:
        if feature not in f.files:
            raise CheckpointError(f"{path}: holds no {feature!r}; delete it and fixed_inputs.npz to take new ones")
        return {feature: f[feature]}


__all__ = ["RunLayout", "load_or_create_fixed_inputs", "load_or_create_fixed_targets", "read_run_info",
           "split_checkpoint"]
