"""Which checkpoint a run resumes from, whatever a crash left behind.

TensorFlow's `checkpoint` state file is only a pointer: a garbage one made `tf.train.latest_checkpoint`
say "no checkpoint" (training restarted from step 0 over the old checkpoints) and an empty one raised.
kgan trusts the checkpoint files themselves: it lists `ckpt-N.index`, newest first, and takes the first
one whose every tensor reads back (a kill during a write leaves a truncated data file). Unreadable ones
are moved to `checkpoints/corrupt/` (when repairing) and the state file is rewritten to match.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import tensorflow as tf

_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
CORRUPT_DIR = "corrupt"


def candidates(ckpt_dir: Path) -> list[str]:
    """Checkpoint prefixes in `ckpt_dir`, newest (highest number) first."""
    if not ckpt_dir.is_dir():
        return []
    found = [(int(m.group(1)), ckpt_dir / f"ckpt-{m.group(1)}") for p in ckpt_dir.iterdir()
             if (m := _INDEX.match(p.name))]
    return [str(prefix) for _, prefix in sorted(found, reverse=True)]


def unreadable_reason(prefix: str) -> str | None:
    """None when every tensor of the checkpoint reads back, else why not."""
    try:
        reader = tf.train.load_checkpoint(prefix)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as e:
        return str(e).splitlines()[0][:200] or type(e).__name__
    return None


def latest_valid(ckpt_dir: str | Path, *, repair: bool = False, report=None) -> str | None:
    """The newest readable checkpoint prefix, or None. With `repair`, unreadable newer ones are moved to
    `corrupt/` and the state file is rewritten; `report(message)` hears about each."""
    ckpt_dir = Path(ckpt_dir)
    found = candidates(ckpt_dir)
    valid = []
    for prefix in found:
        reason = unreadable_reason(prefix)
        if reason is None:
            valid.append(prefix)
            if not repair:
                return prefix
            continue
        if repair and not valid:  # only newer-than-valid ones block resuming; older bad ones are left alone
            _set_aside(prefix)
            if report:
                report(f"checkpoint {Path(prefix).name} is unreadable ({reason}); moved to "
                       f"{ckpt_dir.name}/{CORRUPT_DIR}/ and fell back to the previous one")
    if repair and found:
        _rewrite_state(ckpt_dir, valid, report)
    return valid[0] if valid else None


def _set_aside(prefix: str) -> None:
    prefix = Path(prefix)
    target = prefix.parent / CORRUPT_DIR
    target.mkdir(exist_ok=True)
    for f in prefix.parent.glob(prefix.name + ".*"):
        shutil.move(str(f), target / f.name)


def _rewrite_state(ckpt_dir: Path, valid: list[str], report) -> None:
    """Make the state file list exactly the readable checkpoints (oldest first, as TensorFlow writes it)."""
    state_file = ckpt_dir / "checkpoint"
    try:  # None for a garbage file (TensorFlow logs and ignores it); ValueError for an empty one
        state = tf.train.get_checkpoint_state(str(ckpt_dir)) if state_file.exists() else None
    except ValueError:
        state = None
    if state_file.exists() and state is None and report:
        report(f"{state_file} was unreadable; rebuilt it from the checkpoint files")
    listed = [Path(p).name for p in state.all_model_checkpoint_paths] if state else []
    wanted = [Path(p).name for p in reversed(valid)]
    if state and listed == wanted and Path(state.model_checkpoint_path).name == wanted[-1]:
        return
    if not valid:
        state_file.unlink(missing_ok=True)
        return
    tf.compat.v1.train.update_checkpoint_state(str(ckpt_dir), wanted[-1], all_model_checkpoint_paths=wanted)
