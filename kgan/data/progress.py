"""A progress counter on stderr, so a long scan of a big folder or dataset does not look hung."""

from __future__ import annotations

import sys
import time


class Progress:
    """Rewrites one `what: done/total` line on stderr twice a second once a scan has run 1 s."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.done = what, total, 0
        self._start = self._last = time.monotonic()
        self._shown = False

    def _show(self, end: str = "") -> None:
        print(f"\r{self.what}: {self.done}/{self.total}", end=end, file=sys.stderr, flush=True)

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._start >= 1.0 and now - self._last >= 0.5:
            self._last, self._shown = now, True
            self._show()

    def close(self) -> None:
        if self._shown:
            self._show(end="\n")
