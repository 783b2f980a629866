"""argparse `type=` converters for counts, scales and seeds.

A value out of range fails while the command line is parsed, before any TensorFlow import or file
read, with one line that names the flag (argparse adds `argument --n:`) and the range expected.
"""

from __future__ import annotations

import argparse
import math

INT32_MAX = 2**31 - 1  # seeds reach TensorFlow's int32 `sample` signature and Philox keys


def int_range(low: int, high: int | None = None):
    """A converter accepting integers in low..high (no upper bound when `high` is None)."""
    expected = f"an integer >= {low}" if high is None else f"an integer in {low}..{high}"

    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return value

    convert.__name__ = f"int_range({low}, {high})"
    return convert


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


positive_int = int_range(1)
non_negative_int = int_range(0)
seed = int_range(0, INT32_MAX)
