"""`kgan data inspect SOURCE`: count, shape, classes and label histogram, plus a PNG grid."""

from __future__ import annotations

import argparse
import re
from pathlib import Path


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="look at data sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect", help="summarize a source and write a grid of examples",
        description="Source strings: mnist | idx:PATH | folder:PATH | tfds:NAME[:SPLIT] | npz:PATH | "
                    "paired:DIR_A,DIR_B")
    inspect.add_argument("source")
    inspect.add_argument("--data-dir", default=None, help="TFDS data_dir for tfds: sources")
    inspect.add_argument("--grid", type=Path, default=None,
                         help="PNG to write (default: ./inspect_<source>.png)")
    inspect.add_argument("--n", type=int, default=64, help="examples in the grid")
    inspect.set_defaults(func=run_inspect)


def grid_images(source: str, data_dir: str | None, n: int):
    """The first `n` images as one uint8 NHWC array, smaller ones padded with black."""
    import numpy as np

    from kgan.data import load_source

    images = [x for x, _ in load_source(source, data_dir).take(n).as_numpy_iterator()]
    h, w = max(x.shape[0] for x in images), max(x.shape[1] for x in images)
    out = np.zeros((len(images), h, w, images[0].shape[-1]), np.uint8)
    for slot, x in zip(out, images):
        slot[: x.shape[0], : x.shape[1]] = x
    return out


def _shape_text(shape) -> str:
    return "x".join(map(str, shape)) if shape != "mixed" else "mixed sizes"


def run_inspect(args: argparse.Namespace) -> int:
    from kgan.data import inspect_source
    from kgan.errors import UsageError
    from kgan.imageio import write_grid_png
    from kgan.io import check_writable_dir

    if args.n < 1:
        raise UsageError(f"--n {args.n}: expected at least 1 example in the grid")
    grid = args.grid or Path.cwd() / f"inspect_{re.sub(r'[^A-Za-z0-9._-]+', '_', args.source)}.png"
    if grid.is_dir():
        raise UsageError(f"--grid {grid}: is a directory; expected the path of a .png file")
    check_writable_dir(grid.parent, "--grid's folder")  # before reading the whole source
    info = inspect_source(args.source, args.data_dir)
    print(f"{args.source}: {info['count']} images of {_shape_text(info['shape'])} ({info['dtype']}), "
          f"{info['num_classes']} classes")
    if "source_shape" in info:
        print(f"paired: each image (the target) has a source image of {_shape_text(info['source_shape'])}")
    print("label histogram:")
    for label, count in info["histogram"].items():
        print(f"  {label:>6}: {count}")
    write_grid_png(grid_images(args.source, args.data_dir, args.n), grid)
    print(f"grid of {min(args.n, info['count'])} examples: {grid}")
    return 0
