"""One line per pipeline stage (started, done with its time, up to date, failed) instead of Luigi's log.

Luigi's own logging (scheduler chatter at DEBUG, every line twice once TensorFlow has configured the root
logger, a summary truncated with "...") is cut to warnings; stage events come from Luigi's event hooks,
which run in the worker process that runs the task, so they also work with `--workers N`.
"""

from __future__ import annotations

import logging
import sys
import time
import traceback

import luigi

from kgan.errors import KganError

_started: dict[str, float] = {}
failures: list[tuple[str, BaseException]] = []  # (stage, exception) of stages that failed in this process
_registered = False


def _name(task) -> str:
    return f"{task.task_family}({getattr(task, 'digest', '') or ''})".replace("()", "")


def _say(message: str) -> None:
    print(f"[pipeline] {message}", file=sys.stderr, flush=True)


def _on_start(task):
    _started[task.task_id] = time.monotonic()
    _say(f"{_name(task)} started")


def _on_success(task):
    took = time.monotonic() - _started.pop(task.task_id, time.monotonic())
    _say(f"{_name(task)} done in {took:.1f}s")


def _on_failure(task, exception):
    """A user error (KganError) is one line; anything else is a bug, shown with its traceback."""
    failures.append((_name(task), exception))
    if isinstance(exception, KganError):
        _say(f"{_name(task)} FAILED: {exception}")
        return
    _say(f"{_name(task)} FAILED:\n" + "".join(traceback.format_exception(exception)).rstrip())


def _on_present(task):
    _say(f"{_name(task)} up to date")


def start() -> None:
    """Register the stage hooks (once per process). Luigi's own log is cut to critical messages (the hooks
    report every stage and failure) and no longer propagates to the root logger TensorFlow configures
    (each line twice)."""
    global _registered
    failures.clear()
    for name in ("luigi", "luigi-interface"):
        logging.getLogger(name).propagate = False
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if _registered:
        return
    luigi.Task.event_handler(luigi.Event.START)(_on_start)
    luigi.Task.event_handler(luigi.Event.SUCCESS)(_on_success)
    luigi.Task.event_handler(luigi.Event.FAILURE)(_on_failure)
    luigi.Task.event_handler(luigi.Event.DEPENDENCY_PRESENT)(_on_present)
    _registered = True
