"""`kgan gallery RUN_OR_SAVED_MODEL --out DIR`: a self-contained HTML sample gallery."""

from __future__ import annotations

from kgan.argtypes import positive_int, seed


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "gallery", help="render an HTML gallery (samples, progression, latent walks, curves)",
        description="Render index.html + PNGs for a run directory or a SavedModel export "
                    "(saved_models/NAME or one version directory). Missing pieces (snapshots, "
                    "history, metrics report) are noted on the page; training warnings from "
                    "logs/events.log are shown at the top.")
    p.add_argument("source", help="run directory, saved_models/NAME or saved_models/NAME/VERSION")
    p.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p.add_argument("--data", help="real data source for the real grid and neighbours "
                                  "(default: the run's config.toml data source)")
    p.add_argument("--data-dir", default=None, help="TFDS data directory")
    p.add_argument("--report", help="metrics report JSON (default: RUN/report.json)")
    p.add_argument("--classifier", help="classifier .keras for the neighbour feature space and the rows by "
                                        "predicted class (default: RUN/classifier.keras, else pixel space "
                                        "and no such rows)")
    p.add_argument("--seed", type=seed, default=0, help="seed of the sample grid and walks")
    p.add_argument("--scale", type=positive_int, default=None,
                   help="nearest-neighbour upscaling (default: 3 for 28x28)")
    p.add_argument("--version", type=positive_int, help="export version (default: latest)")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.gallery import render_gallery

    index = render_gallery(args.source, args.out, data=args.data, data_dir=args.data_dir,
                           report=args.report, classifier=args.classifier, seed=args.seed,
                           scale=args.scale, version=args.version)
    print(f"wrote {index}")
    return 0
