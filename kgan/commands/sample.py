"""`kgan sample RUN_OR_CHECKPOINT_OR_EXPORT --n 64 --out grid.png|samples.npy|samples.npz`.

A .png is one grid, so it is bounded (MAX_GRID); .npy/.npz are streamed chunk by chunk and have no bound."""

from __future__ import annotations

from pathlib import Path

from kgan.argtypes import non_negative_float, positive_int, seed

SUFFIXES = (".png", ".npy", ".npz")
MAX_GRID = 4096  # 64x64 tiles: already a 1792x1792 PNG for 28x28 images at --scale 1


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="write samples of a run, checkpoint or export (PNG grid, .npy or .npz)",
        description="Draw the model's inputs from --seed and write the images it makes: a PNG grid "
                    f"(at most {MAX_GRID} images), or a uint8 NHWC array in .npy or .npz (as x, readable as "
                    "npz:PATH) written chunk by chunk, for any --n. The same seed gives the same images, "
                    "and the first m of them are the same for every --n >= m.")
    p.add_argument("source", help="run directory, checkpoint prefix (RUN/checkpoints/ckpt-N), saved_models/NAME "
                                  "or saved_models/NAME/VERSION")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="output file: .png grid, .npy or .npz")
    p.add_argument("--seed", type=seed, default=0, help="seed the inputs are drawn from")
    p.add_argument("--version", type=positive_int, help="export version (default: latest) for saved_models/NAME")
    p.add_argument("--truncation", type=non_negative_float, default=1.0,
                   help="truncation psi (1 = none): the model's own (StyleGAN: w_avg + psi (w - w_avg), in W) when it "
                        "declares one, else the normal inputs scaled by psi")
    p.add_argument("--scale", type=positive_int, default=2, help="nearest-neighbour upscaling factor of a .png grid")
    p.add_argument("--text", action="append", default=[],
                   help="a caption for a text-conditioned model (repeat it: the samples cycle through them)")
    p.set_defaults(func=run)


def run(args) -> int:
    import numpy as np

    from kgan.imageio import write_grid_png
    from kgan.npystream import array_writer
    from kgan.sampling import open_sampler, sample_chunks

    out = Path(args.out)
    check_out(out, args.n)  # before the model is loaded
    chunks = sample_chunks(open_sampler(args.source, args.version, args.text or None, args.truncation), args.n,
                           seed=args.seed)
    if out.suffix == ".png":
        write_grid_png(np.concatenate(list(chunks)), out, scale=args.scale)
    else:
        with array_writer(out, args.n) as write:
            for images in chunks:
                write(images)
    print(f"wrote {out} ({args.n} samples)")
    return 0


def check_out(out: Path, n: int) -> None:
    from kgan.errors import UsageError
    from kgan.io import check_writable_dir

    if out.suffix not in SUFFIXES:
        raise UsageError(f"--out {out}: expected a file name ending in {', '.join(SUFFIXES)}")
    if out.is_dir():
        raise UsageError(f"--out {out}: is a directory; expected a file name")
    if out.suffix == ".png" and n > MAX_GRID:
        raise UsageError(f"--n {n}: a .png grid holds at most {MAX_GRID} images; write --out "
                         f"{out.with_suffix('.npy')} or .npz for more (streamed to disk)")
    check_writable_dir(out.parent, "--out's folder")
