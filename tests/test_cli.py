"""The `kgan` command line as a whole: argument checking, help text, and the commands run for real."""

import argparse

import pytest

from conftest import run_cli
from kgan.cli import build_parser, main


def all_parsers(parser=None):
    """(prog, parser) for `kgan` and every subcommand, nested ones included."""
    parser = parser or build_parser()
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from all_parsers(sub)


def test_every_argument_of_every_command_has_help_text():
    missing = [f"{prog} {action.option_strings or action.dest}" for prog, parser in all_parsers()
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_help_shows_real_defaults_only():
    text = build_parser()._subparsers._group_actions[0].choices["sample"].format_help()
    assert "(default: 64)" in text and "(default: 0)" in text  # --n, --seed
    assert "default: None" not in text and "default: False" not in text
    assert "Draw the model's inputs" in text  # sample has a description


@pytest.mark.parametrize("args,flag,value", [
    (["sample", "run", "--n", "0"], "--n", "0"),
    (["sample", "run", "--n", "-5"], "--n", "-5"),
    (["sample", "run", "--scale", "0"], "--scale", "0"),
    (["sample", "run", "--seed", "-1"], "--seed", "-1"),
    (["sample", "run", "--n", "many"], "--n", "many"),
    (["evaluate", "--samples", "npz:x", "--data", "mnist", "--features", "f", "--batch-size", "0"],
     "--batch-size", "0"),
    (["gallery", "run", "--out", "g", "--seed", "2147483648"], "--seed", "2147483648"),
    (["export", "run", "--warmup-requests", "101"], "--warmup-requests", "101"),
    (["train", "c.toml", "--steps", "0"], "--steps", "0"),
    (["pipeline", "c.toml", "--workers", "0"], "--workers", "0"),
    (["launch", "c.toml", "--out", "r", "--timeout", "-1"], "--timeout", "-1"),
    (["data", "inspect", "mnist", "--n", "0"], "--n", "0"),
])
def test_out_of_range_values_are_refused_in_one_line(tmp_path, capsys, monkeypatch, args, flag, value):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: argument {flag}: expected " in err and repr(value) in err, err
    assert err.startswith(f"kgan {args[0]}")
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_argparse_errors_are_one_line_with_status_2_in_a_real_process(tmp_path):
    for args in (["sample", "run", "--n", "0"], ["sample"], ["no-such-command"], ["data", "inspect"],
                 ["sample", "run", "--bogus"]):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and ": error: " in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr
