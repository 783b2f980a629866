"""Export names, version numbers and the atomic publish of a version directory.

TF Serving polls `BASE/NAME/` and serves the integer-named subdirectories it finds there. So a
version is built in a hidden temporary directory inside `BASE/NAME/` (same filesystem; TF Serving
ignores names that are not integers) and published with one `os.rename` to `BASE/NAME/<v>`, where
`v` is one more than the highest existing version. The rename is atomic: a poller sees either no
version `v` or the complete one. If another export took `v` first, the rename fails and we retry
with the next number, so concurrent exports get distinct versions. Older versions are never
touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from kgan.errors import ExportError
from kgan.names import NAME_RE as _NAME_RE

TMP_PREFIX = ".kgan-export-tmp-"
_MAX_RENAME_TRIES = 1000


def check_name(name) -> str:
    """A served model name: letters, digits, `_`, `.`, `-`; no path separators, not empty, not `..`."""
    if not isinstance(name, str) or not name:
        raise ExportError("export name is empty; pass --name NAME (letters, digits, '_', '.', '-')")
    if "/" in name or "\\" in name or os.sep in name or name in (".", "..") or not _NAME_RE.match(name) \
            or ".." in name:
        raise ExportError(f"export name {name!r}: must be one path component of letters, digits, '_', '.', '-' "
                          "(no path separators, not '.' or '..', not starting with '.' or '-')")
    return name


def check_base_writable(base: Path) -> None:
    """Fail early, writing nothing, when `base` (or its first existing ancestor) cannot hold exports."""
    probe = base
    while not probe.exists():
        if probe.is_symlink():  # dangling link
            raise ExportError(f"{base}: export base path {probe} is a dangling symbolic link")
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ExportError(f"{base}: export base path is not a directory ({probe} is a file)")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ExportError(f"{base}: export base path is not writable ({probe})")


def existing_versions(model_dir: Path) -> list[int]:
    """Integer version numbers under `BASE/NAME`, ascending (what TF Serving would serve)."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def is_export(path: str | Path) -> bool:
    """A SavedModel version directory, or `BASE/NAME` holding at least one exported version."""
    path = Path(path)
    return (path / "saved_model.pb").is_file() or any(
        (path / str(v) / "saved_model.pb").is_file() for v in existing_versions(path))


def next_version(model_dir: Path) -> int:
    versions = existing_versions(model_dir)
    return versions[-1] + 1 if versions else 1


def make_model_dir(model_dir: Path) -> None:
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ExportError(f"{model_dir}: exists and is not a directory") from None
    except OSError as e:
        raise ExportError(f"{model_dir}: cannot create the export directory ({e.strerror or e})") from None


@contextlib.contextmanager
def temp_build_dir(model_dir: Path) -> Iterator[Path]:
    """A hidden scratch directory inside `model_dir`; removed on the way out, success or failure."""
    try:
        tmp = Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=model_dir))
    except OSError as e:
        raise ExportError(f"{model_dir}: cannot write there ({e.strerror or e})") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(built: Path, model_dir: Path) -> Path:
    """Rename the complete directory `built` to `model_dir/<next version>`; retry on a lost race."""
    version = next_version(model_dir)
    for _ in range(_MAX_RENAME_TRIES):
        target = model_dir / str(version)
        if target.exists():  # taken, or an empty directory made by hand: never replace it
            version += 1
            continue
        try:
            # Renaming onto an existing non-empty directory fails with ENOTEMPTY/EEXIST: a concurrent
            # export won this number. (Linux would replace an *empty* one, hence the check above.)
            os.rename(built, target)
            return target
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise ExportError(f"{target}: cannot publish the export ({e.strerror or e})") from None
            version = max(version + 1, next_version(model_dir))
    raise ExportError(f"{model_dir}: could not find a free version number after {_MAX_RENAME_TRIES} tries")


def resolve_version_dir(path: str | Path, version: int | None = None) -> Path:
    """`BASE/NAME` (latest or `version`) or a version directory -> the version directory."""
    path = Path(path)
    if (path / "saved_model.pb").is_file():
        if version is not None and path.name != str(version):
            raise ExportError(f"{path}: is version {path.name}, not {version}; pass BASE/NAME to choose a version")
        return path
    if not path.is_dir():
        raise ExportError(f"{path}: no such export (expected saved_models/NAME or a version directory)")
    versions = existing_versions(path)
    if not versions:
        raise ExportError(f"{path}: holds no exported versions (no integer-named subdirectories)")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise ExportError(f"{path}: no version {version}; available: {versions}")
    target = path / str(version)
    if not (target / "saved_model.pb").is_file():
        raise ExportError(f"{target}: not a SavedModel (no saved_model.pb)")
    return target
