"""The `kgan` command line.

Each subcommand lives in its own module under `kgan.commands` and exposes `register(subparsers)`,
which adds its parser and sets `func`. Heavy imports (TensorFlow) happen inside the handlers so
that `kgan --help` is instant. User errors (`KganError`) print one clear line and exit 2.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before anything can import TensorFlow

import argparse  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import sys  # noqa: E402

import kgan
from kgan import commands
from kgan.errors import KganError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kgan", description=kgan.__doc__)
    parser.add_argument("--version", action="version", version=f"kgan {kgan.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"kgan.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 1
    if getattr(args, "uses_tensorflow", True):
        from kgan.quiet import import_tensorflow

        import_tensorflow()
    try:
        return int(args.func(args) or 0)
    except KganError as e:
        one_line = " ".join(str(e).splitlines())  # a message may quote a multi-line reason
        print(f"kgan {args.command}: error: {one_line}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
