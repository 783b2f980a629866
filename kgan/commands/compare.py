"""`kgan compare RUN_OR_MODEL [RUN_OR_MODEL ...] --out DIR`: runs or exports of one data set on one page."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare", help="compare runs or exports of one data set on one HTML page",
        description="Render index.html + PNGs: a metrics table with reference points (each source's "
                    "report.json), sample grids side by side and every run's metric history on one plot. "
                    "Sources trained on different data sets are refused.")
    p.add_argument("sources", nargs="+", metavar="RUN_OR_MODEL",
                   help="run directory, saved_models/NAME or saved_models/NAME/VERSION")
    p.add_argument("--out", required=True, help="output directory (replaced atomically)")
    p.add_argument("--data", help="real data source, for the real grid and for exports that do not name "
                                  "their data (default: the sources' own)")
    p.add_argument("--data-dir", default=None, help="TFDS data directory")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample grids")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.gallery.compare import render_compare

    index = render_compare(args.sources, args.out, data=args.data, data_dir=args.data_dir, seed=args.seed)
    print(f"wrote {index}")
    return 0
