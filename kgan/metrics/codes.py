"""What an autoencoder made of the held-out examples, shared by its metrics (`prior_mmd`, `reconstruction`,
`linear_probe`): their codes and reconstructions, each computed once per evaluation (kept in `Inputs.held_out`).
This module registers no metric."""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError

BATCH = 256


def _batched(fn, values: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(fn(values[i:i + BATCH]), np.float32) for i in range(0, len(values), BATCH)])


def codes(inputs) -> np.ndarray:
    """float32 [n, d] codes of the held-out images."""
    held = inputs.held_out
    if "codes" not in held:
        held["codes"] = _batched(inputs.generator.encode, np.asarray(held["image"], np.float32))
    return held["codes"]


def reconstructions(inputs) -> np.ndarray:
    """float32 [n, H, W, C] in [-1, 1]: the held-out images decoded from their codes."""
    held = inputs.held_out
    if "reconstructions" not in held:
        held["reconstructions"] = _batched(inputs.generator.decode, codes(inputs))
    return held["reconstructions"]


def labelled(inputs) -> tuple[np.ndarray, np.ndarray]:
    """(row mask, labels) of the held-out examples with a class (label >= 0); a DataError when none has one."""
    labels = np.asarray(inputs.held_out.get("label", np.full(len(inputs.held_out["image"]), -1)))
    known = labels >= 0
    if not known.any():
        raise DataError("this metric needs labelled held-out examples; every label is -1")
    return known, labels
