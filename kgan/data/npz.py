"""`npz:PATH`: a numpy archive with images `x` and optional labels `y`.

Accepted `x`: (N,H,W) or (N,H,W,C), C in (1, 3), either integers in [0, 255] or floats in
[0, 1] (scaled by 255) or [0, 255]; floats are rounded to the nearest integer. Anything outside
those ranges is rejected rather than guessed at. `y` must hold integers (see `checked_labels`).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from kgan.errors import DataError
from kgan.data.source import Source, checked_labels, from_arrays

NPY_MAGIC = b"\x93NUMPY"


def to_uint8(x: np.ndarray, where: str) -> np.ndarray:
    if x.dtype == np.uint8:
        return x
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{where}: x has dtype {x.dtype}; expected uint8, integers or floats")
    lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 or hi > 255:
        raise DataError(f"{where}: x values span [{lo}, {hi}]; expected [0, 1] or [0, 255]")
    if np.issubdtype(x.dtype, np.floating):
        x = np.rint(x * 255.0 if hi <= 1.0 else x)
    return x.astype(np.uint8)


def read_arrays(path: Path, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The named members that the archive holds (`x` is required); DataError for anything else.

    Only the named members are decompressed, so reading just `y` stays cheap.
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    if not zipfile.is_zipfile(path):
        with open(path, "rb") as f:
            single = f.read(len(NPY_MAGIC)) == NPY_MAGIC
        raise DataError(f"{path}: not an .npz archive" + (
            " (it is a single .npy array); save one with np.savez(path, x=images, y=labels)"
            if single else ""))
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "x" not in archive.files:
                raise DataError(f"{path}: no array named 'x' (found {archive.files}); "
                                f"save images as x and labels as y")
            return {name: archive[name] for name in names if name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None


def npz_labels(path: Path) -> np.ndarray | None:
    y = read_arrays(path, ("y",)).get("y")
    return None if y is None else checked_labels(y, f"{path} (y)")


def open_npz(name: str, path: Path) -> Source:
    arrays = read_arrays(path, ("x", "y"))
    return from_arrays(name, to_uint8(arrays["x"], str(path)), arrays.get("y"), where=str(path),
                       labels_where=f"{path} (y)")
