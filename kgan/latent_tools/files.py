"""Files of the latent tools: target images in, points of the latent space out and back in.

Targets: image files (`.png`, `.jpg`, `.jpeg`, `.bmp`; one image each, converted to the model's channels: grey
or RGB) or arrays of images (`.npy`, or `.npz` with `x`, as `kgan sample` writes them: uint8 NHWC or NHW). Every
image must have the model's height and width: projection does not resize.

Points (`.npz`, written by `kgan latent project`): one array per input of the latent space (the latent, e.g. `z`,
and the other inputs its renderer takes, e.g. `label`), one row per image, plus `error` and `pixel_mse`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kgan.errors import DataError, UsageError
from kgan.io import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
ARRAY_SUFFIXES = (".npy", ".npz")


def _read_one(path: Path, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("L" if channels == 1 else "RGB")).reshape(
                image.height, image.width, channels)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{path}: not a readable image ({e})") from None


def _read_array(path: Path) -> np.ndarray:
    from kgan.data.npz import read_arrays, to_uint8

    if path.suffix == ".npz":
        x = read_arrays(path, ("x",))["x"]
    else:
        try:
            x = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as e:
            raise DataError(f"{path}: not a .npy array ({e})") from None
    x = to_uint8(np.asarray(x), str(path))
    return x[..., None] if x.ndim == 3 else x


def read_targets(paths, image_shape) -> np.ndarray:
    """float32 [N, H, W, C] in [-1, 1] from image and array files; a one-line error naming a bad file."""
    height, width, channels = image_shape
    batches = []
    for path in map(Path, paths):
        if not path.is_file():
            raise UsageError(f"{path}: no such image file")
        if path.suffix.lower() in IMAGE_SUFFIXES:
            images = _read_one(path, channels)[None]
        elif path.suffix.lower() in ARRAY_SUFFIXES:
            images = _read_array(path)
        else:
            raise UsageError(f"{path}: expected an image ({', '.join(IMAGE_SUFFIXES)}) or an array "
                             f"({', '.join(ARRAY_SUFFIXES)})")
        if images.ndim != 4 or tuple(images.shape[1:]) != (height, width, channels):
            raise DataError(f"{path}: images shaped {list(images.shape[1:])}; the model makes "
                            f"[{height}, {width}, {channels}] (projection does not resize)")
        batches.append(images)
    return np.concatenate(batches).astype(np.float32) / 127.5 - 1.0


def write_points(path, points: dict, **extra) -> Path:
    """An `.npz` of the points (one array per input) and `extra` arrays, written atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **{k: np.asarray(v) for k, v in {**points, **extra}.items()})
    return path


def read_point(path, lm, index: int = 0) -> dict:
    """Row `index` of a points file, checked against the latent space of `lm` ({name: [1, ...]})."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such points file")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {name: f[name] for name in lm.names if name in f.files}
    except (ValueError, OSError) as e:
        raise DataError(f"{path}: not an .npz of latent points ({e})") from None
    missing = [name for name in lm.names if name not in arrays]
    if missing:
        raise DataError(f"{path}: has no {missing}; expected the arrays {lm.names} (kgan latent project --out)")
    latent = arrays[lm.latent.name]
    if tuple(latent.shape[1:]) != lm.latent.shape:
        raise DataError(f"{path}: {lm.latent.name} shaped {list(latent.shape)}; the model's is "
                        f"[N, {', '.join(map(str, lm.latent.shape))}]")
    if not 0 <= index < len(latent):
        raise UsageError(f"{path}: holds {len(latent)} points; index {index} is out of range")
    return {name: value[index:index + 1] for name, value in arrays.items()}
