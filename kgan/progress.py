"""One progress line on stderr (`label: done/total (rate/s)`), rewritten in place on a terminal.

Long scans and feature passes use it so they never look hung; it shows only after `delay` seconds,
so quick ones stay quiet. Where stderr is not a terminal (a log file, CI, a pipe) a carriage return
would run every update into one long line, so there it writes whole lines, at most one per
`LOG_INTERVAL` seconds plus the last. Dependency-free on purpose: it runs inside Luigi workers and CI logs.
"""

from __future__ import annotations

import sys
import time

LOG_INTERVAL = 10.0  # seconds between whole-line updates where stderr is not a terminal


class Progress:
    def __init__(self, label: str, total: int, *, enabled: bool = True, delay: float = 0.0, unit: str = "img"):
        self.label, self.total, self.enabled, self.delay, self.unit = label, total, enabled, delay, unit
        self.done = 0
        self._start = self._last = time.monotonic()
        self._shown = False
        self._tty = sys.stderr.isatty()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self._start >= self.delay and (
                now - self._last >= (0.5 if self._tty else LOG_INTERVAL) or self.done >= self.total):
            self._last, self._shown = now, True
            self._show(end="\n" if self.done >= self.total or not self._tty else "")

    def close(self) -> None:
        """End the line if one was shown and the total was not reached."""
        if self._shown and self.done < self.total and self._tty:
            self._show(end="\n")

    def _show(self, end: str) -> None:
        rate = self.done / max(time.monotonic() - self._start, 1e-9)
        start = "\r" if self._tty else ""
        print(f"{start}{self.label}: {self.done}/{self.total} ({rate:.0f} {self.unit}/s)", end=end,
              file=sys.stderr, flush=True)


def clock(seconds: float) -> str:
    """h:mm:ss (or m:ss under an hour), as tqdm shows elapsed and remaining time."""
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def training_line(step: int, total: int, elapsed: float, rate: float, batch_size: int, values: dict,
                  width: int = 20) -> str:
    """`step 1200/12000 [==>.......] 10% 0:35<5:15 1930 img/s d_loss=0.61 g_loss=1.32` (tqdm's conventions:
    elapsed<remaining). `values` are shown in the order given."""
    frac = min(1.0, step / max(total, 1))
    filled = int(frac * width)
    bar = "=" * filled + (">" if filled < width else "") + "." * max(0, width - filled - 1)
    remaining = (total - step) / max(rate / max(batch_size, 1), 1e-9) if rate > 0 else 0.0
    terms = " ".join(f"{k}={v:.3f}" for k, v in values.items())
    return (f"step {step}/{total} [{bar}] {100 * frac:3.0f}% {clock(elapsed)}<{clock(remaining)} "
            f"{rate:.0f} img/s {terms}").rstrip()
