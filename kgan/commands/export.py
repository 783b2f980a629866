"""`kgan export RUN_OR_CHECKPOINT --name NAME [--base saved_models] [--serving-base /models]`."""

from __future__ import annotations

from kgan.argtypes import int_range


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a run's generator as a TF Serving SavedModel (BASE/NAME/<version>)",
        description="Write BASE/NAME/<next version>/ atomically (the EMA generator when training kept one), "
                    "with serving_default, sample and metadata signatures, TF Serving warm-up requests, and "
                    "rewrite BASE/models.config. Older versions are never touched.")
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT",
                   help="run directory (latest checkpoint) or a checkpoint prefix RUN/checkpoints/ckpt-N")
    p.add_argument("--name", help="served model name (default: config export.name, else the experiment name)")
    p.add_argument("--base", help="model base directory (default: config export.base, 'saved_models')")
    p.add_argument("--serving-base", metavar="PATH",
                   help="BASE as the server sees it, for base_path in models.config (e.g. /models inside "
                        "Docker); default: the absolute local path")
    p.add_argument("--warmup-requests", type=int_range(0, 100), metavar="N",
                   help="number of warm-up requests (default: config export.warmup_requests)")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.export import export_run

    target = export_run(args.source, args.name, args.base, serving_base=args.serving_base,
                        warmup_requests=args.warmup_requests)
    print(f"exported {target} (TF Serving config: {target.parent.parent / 'models.config'})")
    return 0
