"""`kgan sample RUN_OR_CHECKPOINT_OR_EXPORT --n 64 --out grid.png`."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser("sample", help="write a PNG grid of samples from a run, checkpoint or export")
    p.add_argument("source", help="run directory, checkpoint prefix (RUN/checkpoints/ckpt-N) or saved_models/NAME")
    p.add_argument("--n", type=int, default=64, help="number of samples")
    p.add_argument("--out", default="samples.png", help="output PNG")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--version", type=int, help="export version (default: latest) for saved_models/NAME")
    p.add_argument("--scale", type=int, default=2, help="nearest-neighbour upscaling factor")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.imageio import write_grid_png
    from kgan.sampling import sample_images

    images = sample_images(args.source, args.n, seed=args.seed, version=args.version)
    write_grid_png(images, args.out, scale=args.scale)
    print(f"wrote {args.out} ({len(images)} samples)")
    return 0
