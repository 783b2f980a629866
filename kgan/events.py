"""logs/events.log: the run's notable events, one line each, written by training and read by the gallery.

A line is `TIME step N: MESSAGE`. Messages that start with a warning kind (`DIVERGENCE`, `COLLAPSE`) are
the ones a person must not miss, so the gallery shows them in a box at the top of the page; the others
(resumes, repairs, phases) are bookkeeping. The format lives here once so the reader cannot drift from
the writer. No TensorFlow.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

DIVERGENCE = "divergence"  # the divergence guard restored a checkpoint (or gave up)
COLLAPSE = "collapse suspected"  # kgan.collapse.CollapseDetector
WARNING_KINDS = (DIVERGENCE, COLLAPSE)

_LINE = re.compile(r"(?P<time>\S+) step (?P<step>-?\d+): (?P<message>.*)")


@dataclass(frozen=True)
class Event:
    time: str
    step: int
    message: str

    @property
    def is_warning(self) -> bool:
        return self.message.startswith(WARNING_KINDS)


def format_line(step: int, message: str) -> str:
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S')} step {step}: {message}\n"


def read_events(path: str | Path) -> list[Event]:
    """Every well-formed line of an events.log (none when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return []
    lines = path.read_text(errors="replace").splitlines()
    return [Event(m["time"], int(m["step"]), m["message"]) for m in map(_LINE.fullmatch, lines) if m]
