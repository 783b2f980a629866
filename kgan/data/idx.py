"""IDX files (the MNIST format): a big-endian header, then a raw uint8 payload; gzip optional."""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from kgan.errors import DataError
from kgan.data.source import Source, checked_labels, from_arrays

IMAGES_MAGIC = 0x00000803  # uint8, 3 dims: N, H, W
LABELS_MAGIC = 0x00000801  # uint8, 1 dim: N


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file, checking the magic number and that the payload matches the header."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: not a readable gzip file ({e})") from None
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header or struct.unpack(">I", raw[:4])[0] != magic:
        found = f"0x{struct.unpack('>I', raw[:4])[0]:08x}" if len(raw) >= 4 else "nothing"
        raise DataError(f"{path}: not an IDX file: expected magic number 0x{magic:08x}, "
                        f"found {found}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims)  # Python ints: numpy's prod could overflow and wrap
    if len(raw) - header != expected:
        raise DataError(f"{path}: truncated or corrupt IDX file: header dims {dims} need "
                        f"{expected} payload bytes, found {len(raw) - header}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def find_pair(path: Path) -> tuple[Path, Path | None]:
    """Resolve `idx:PATH` to (images file, labels file or None when there is none next to it)."""
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if "images" in p.name and "idx3" in p.name)
        if len(found) != 1:
            raise DataError(f"{path}: expected exactly one *images*idx3* file in the directory, "
                            f"found {[p.name for p in found] or 'none'}")
        path = found[0]
    elif not path.exists():
        raise DataError(f"{path}: no such file or directory")
    if "images-idx3" not in path.name:
        return path, None
    stem = path.name.replace("images-idx3", "labels-idx1").removesuffix(".gz")
    return path, next((p for p in (path.with_name(stem), path.with_name(stem + ".gz"))
                       if p.is_file()), None)


def idx_labels(path: Path) -> np.ndarray | None:
    labels_path = find_pair(path)[1]
    return checked_labels(read_idx(labels_path, LABELS_MAGIC), str(labels_path)) if labels_path else None


def open_idx(name: str, path: Path) -> Source:
    images_path, labels_path = find_pair(path)
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC) if labels_path else None
    return from_arrays(name, images, labels, where=str(images_path),
                       labels_where=str(labels_path))
