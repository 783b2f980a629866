"""`kgan sample RUN_OR_CHECKPOINT_OR_EXPORT --n 64 --out grid.png`."""

from __future__ import annotations

from kgan.argtypes import positive_int, seed


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "sample", help="write a PNG grid of samples from a run, checkpoint or export",
        description="Draw the model's inputs from --seed and write the images it makes as a PNG grid. "
                    "The same seed gives the same images.")
    p.add_argument("source", help="run directory, checkpoint prefix (RUN/checkpoints/ckpt-N) or saved_models/NAME")
    p.add_argument("--n", type=positive_int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="output PNG")
    p.add_argument("--seed", type=seed, default=0, help="seed the inputs are drawn from")
    p.add_argument("--version", type=positive_int, help="export version (default: latest) for saved_models/NAME")
    p.add_argument("--scale", type=positive_int, default=2, help="nearest-neighbour upscaling factor")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.imageio import write_grid_png
    from kgan.sampling import sample_images

    images = sample_images(args.source, args.n, seed=args.seed, version=args.version)
    write_grid_png(images, args.out, scale=args.scale)
    print(f"wrote {args.out} ({len(images)} samples)")
    return 0
