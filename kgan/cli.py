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


class HelpFormatter(argparse.HelpFormatter):
    """Appends `(default: X)` to an option's help where it has a real default the help does not state.

    Unlike argparse.ArgumentDefaultsHelpFormatter it skips None, switches (store_true/false) and
    empty lists, where "(default: None)" would say nothing.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        if (not action.option_strings or action.nargs == 0 or "default" in text.lower()
                or action.default in (None, argparse.SUPPRESS, [])):
            return text
        return f"{text} (default: %(default)s)"


class Parser(argparse.ArgumentParser):
    """Every parser and subparser of `kgan`: a usage error is one line and exit status 2, like a KganError."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)  # add_parser does not pass the parent's on
        super().__init__(*args, **kwargs)

    def error(self, message):
        one_line = " ".join(message.split())
        self.exit(2, f"{self.prog}: error: {one_line} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="kgan", description=kgan.__doc__)
    parser.add_argument("--version", action="version", version=f"kgan {kgan.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"kgan.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, a usage error: a status for callers of main() too
        return int(e.code or 0)
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
