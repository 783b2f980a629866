"""Atomic writes: a reader (TF Serving, Luigi, a person) never sees a half-written artifact.

Plus the two things around them: a pre-flight check that an output directory can be written at all
(fail before hours of work, not at the first checkpoint), and removal of the temporaries that a
killed process leaves behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from kgan.errors import OutputError

# Temporaries of atomic writers, which only a killed process leaves behind:
#   .NAME.tmp-XXXXXXXX[.ext]  atomic_path below (mkstemp/mkdtemp: 8 chars of [a-z0-9_])
#   NAME.tmp<32 hex>          TensorFlow's atomic_write_string_to_file (the `checkpoint` state file)
#   ckpt-N_temp/              TensorFlow's checkpoint shards before they are merged into ckpt-N
STALE_TEMPORARY = re.compile(r"\..+\.tmp-[a-z0-9_]{8}(\.\w+)?|.+\.tmp[0-9a-f]{32}|ckpt-\d+_temp")


@contextlib.contextmanager
def atomic_path(target: str | Path, *, directory: bool = False) -> Iterator[Path]:
    """Yield a temporary sibling of `target`; rename it onto `target` only if the block succeeds.

    The temp lives in the same directory so the final `os.replace` is atomic on one filesystem.
    On an exception the temp is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.tmp-"  # recognised by STALE_TEMPORARY
    if directory:
        tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=target.parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=target.suffix, dir=target.parent)
        os.close(fd)
        tmp = Path(name)
    try:
        yield tmp
        _umask_permissions(tmp, directory)
        if directory and target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _umask_permissions(path: Path, directory: bool) -> None:
    """mkstemp/mkdtemp create owner-only files; give the result the modes a plain write would have."""
    umask = os.umask(0)
    os.umask(umask)
    path.chmod((0o777 if directory else 0o666) & ~umask)


def hash_file(digest, path: str | Path):
    """Feed a file's bytes to a hashlib `digest` in 1 MiB blocks (files of any size, bounded memory); returns it."""
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest


def write_text(target: str | Path, text: str) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(text)


def write_json(target: str | Path, obj) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def check_writable_dir(path: str | Path, what: str) -> None:
    """OutputError naming `what` unless `path` is, or can be created as, a writable directory.

    Probes by creating (and removing) a file in `path` or its nearest existing ancestor, because
    permission bits lie: root ignores them, and a read-only mount ignores the bits.
    """
    path = Path(path)
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise OutputError(f"{what} {path}: {probe} is a dangling symbolic link")
        probe = probe.parent
    if not probe.is_dir():
        raise OutputError(f"{what} {path}: not a directory ({probe} is a file)")
    try:
        fd, name = tempfile.mkstemp(prefix=".kgan-probe.tmp-", dir=probe)
    except OSError as e:
        raise OutputError(f"{what} {path}: not writable ({probe}: {e.strerror})") from None
    os.close(fd)
    os.unlink(name)


def clean_stale_temporaries(directory: str | Path) -> list[Path]:
    """Remove (recursively) what atomic writes killed half-way left in `directory`; returns them.

    Call it only when no other process writes there (at run start), or it may remove a write in
    flight.
    """
    removed = []
    for root, dirs, files in os.walk(directory):
        for name in [*dirs, *files]:
            if STALE_TEMPORARY.fullmatch(name):
                path = Path(root, name)
                if name in dirs:
                    dirs.remove(name)  # do not walk into what is being removed
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
                removed.append(path)
    return sorted(removed)
