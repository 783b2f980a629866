"""`kgan data inspect SOURCE [--grid PNG]`: count, shape, classes and label histogram; a grid only when asked."""

from __future__ import annotations

import argparse
from pathlib import Path

from kgan.argtypes import positive_int


def register(subparsers) -> None:
    parser = subparsers.add_parser("data", help="look at data sources")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    inspect = actions.add_parser(
        "inspect", help="summarize a source (and write a grid of examples with --grid)",
        description="Source strings: mnist | idx:PATH | folder:PATH | tfds:NAME[:SPLIT] | npz:PATH | "
                    "paired:DIR_A,DIR_B")
    inspect.add_argument("source", help="data source string (see the description)")
    inspect.add_argument("--data-dir", default=None, help="TFDS data_dir for tfds: sources")
    inspect.add_argument("--grid", type=Path, default=None,
                         help="also write a PNG grid of the first --n examples here")
    inspect.add_argument("--n", type=positive_int, default=64, help="examples in the --grid")
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

    grid = args.grid
    if grid is not None:
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
    if grid is not None:
        write_grid_png(grid_images(args.source, args.data_dir, args.n), grid)
        print(f"grid of {min(args.n, info['count'])} examples: {grid}")
    return 0
