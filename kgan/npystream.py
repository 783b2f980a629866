"""Write an `.npy` (or an `.npz` holding it as `x`) whose rows arrive in chunks.

The header of an .npy file needs the full shape, which is known (`n` rows) before the rows are: so it
is written with the first chunk and each chunk is appended as raw bytes. Memory stays one chunk, however
large `n` is. The file is built at a temporary path and renamed into place only when all `n` rows
arrived (`kgan.io.atomic_path`), so an interrupted write never leaves a short or headerless array.
An .npz is a zip archive with one stored (uncompressed, zip64) member `x.npy`: what `npz:PATH` reads.
"""

from __future__ import annotations

import contextlib
import zipfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

import numpy as np

from kgan.io import atomic_path

SUFFIXES = (".npy", ".npz")


class _Rows:
    """Appends chunks of rows to an open binary file after writing the .npy header for `n` rows."""

    def __init__(self, fp: BinaryIO, n: int):
        self.fp, self.n, self.written, self.row = fp, n, 0, None

    def write(self, chunk: np.ndarray) -> None:
        chunk = np.ascontiguousarray(chunk)
        if self.row is None:
            self.row = (chunk.shape[1:], chunk.dtype)
            np.lib.format.write_array_header_1_0(self.fp, {
                "descr": np.lib.format.dtype_to_descr(chunk.dtype), "fortran_order": False,
                "shape": (self.n, *chunk.shape[1:])})
        elif (chunk.shape[1:], chunk.dtype) != self.row:
            raise ValueError(f"chunk of {chunk.dtype} {chunk.shape[1:]} rows after {self.row[1]} {self.row[0]} rows")
        if self.written + len(chunk) > self.n:
            raise ValueError(f"more than the announced {self.n} rows")
        self.fp.write(chunk.tobytes())
        self.written += len(chunk)


@contextlib.contextmanager
def array_writer(target: str | Path, n: int) -> Iterator[Callable[[np.ndarray], None]]:
    """Yield `write(chunk)` for an array of `n` rows at `target` (.npy, or .npz with the array as `x`).

    `target` appears only if the block ends normally after exactly `n` rows; otherwise nothing is written.
    """
    target = Path(target)
    if target.suffix not in SUFFIXES:
        raise ValueError(f"{target}: expected a name ending in {' or '.join(SUFFIXES)}")
    with atomic_path(target) as tmp, contextlib.ExitStack() as files:
        if target.suffix == ".npz":
            archive = files.enter_context(zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True))
            fp = files.enter_context(archive.open("x.npy", "w", force_zip64=True))
        else:
            fp = files.enter_context(open(tmp, "wb"))
        rows = _Rows(fp, n)
        yield rows.write
        if rows.written != n:
            raise ValueError(f"{target}: got {rows.written} of the announced {n} rows")
