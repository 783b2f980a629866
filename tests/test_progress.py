"""Progress lines: rewritten in place on a terminal, whole lines in logs."""

import io

import kgan.progress
from kgan.progress import Progress


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


def run_bar(monkeypatch, tty: bool, steps: int = 30) -> str:
    stream = FakeStream(tty)
    monkeypatch.setattr(kgan.progress.sys, "stderr", stream)
    clock = iter(range(0, 10_000, 1))  # one second per call: interim updates are due on a terminal
    monkeypatch.setattr(kgan.progress.time, "monotonic", lambda: float(next(clock)))
    bar = Progress("features", steps, unit="img")
    for _ in range(steps):
        bar.update()
    bar.close()
    return stream.getvalue()


def test_log_gets_whole_lines_without_carriage_returns(monkeypatch):
    out = run_bar(monkeypatch, tty=False)
    assert "\r" not in out and out.endswith("\n")
    lines = out.splitlines()
    assert lines[-1].startswith("features: 30/30")
    assert 1 < len(lines) <= 4  # one line per LOG_INTERVAL (10 s here: 30 updates over ~60 s), plus the last
    assert all(line.startswith("features: ") for line in lines)


def test_terminal_line_is_rewritten_in_place(monkeypatch):
    out = run_bar(monkeypatch, tty=True)
    assert out.count("\n") == 1 and out.count("\r") > 5
    assert out.rsplit("\r", 1)[-1].startswith("features: 30/30")
