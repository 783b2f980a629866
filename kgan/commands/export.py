"""`kgan export RUN_OR_CHECKPOINT --name NAME [--base saved_models] [--serving-base /models]`, and
`kgan export --refresh-config [--base BASE]` to rewrite BASE/models.config alone."""

from __future__ import annotations

from kgan.argtypes import int_range


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="export a run's generator as a TF Serving SavedModel (BASE/NAME/<version>)",
        description="Write BASE/NAME/<next version>/ atomically (the EMA generator when training kept one), "
                    "with the signatures its declared inputs allow (serving_default; sample for models drawn from a "
                    "seed; serving_float for image inputs; metadata), TF Serving warm-up requests, and "
                    "rewrite BASE/models.config from the model directories present. Older versions are never "
                    "touched. With --refresh-config and no RUN_OR_CHECKPOINT, only rewrite models.config "
                    "(after an export was killed before it wrote it, or model directories were removed).")
    p.add_argument("source", metavar="RUN_OR_CHECKPOINT", nargs="?",
                   help="run directory (latest checkpoint) or a checkpoint prefix RUN/checkpoints/ckpt-N")
    p.add_argument("--name", help="served model name (default: config export.name, else the experiment name)")
    p.add_argument("--base", help="model base directory (default: config export.base, 'saved_models')")
    p.add_argument("--serving-base", metavar="PATH",
                   help="BASE as the server sees it, for base_path in models.config (e.g. /models inside "
                        "Docker); default: the absolute local path")
    p.add_argument("--warmup-requests", type=int_range(0, 100), metavar="N",
                   help="number of warm-up requests (default: config export.warmup_requests)")
    p.add_argument("--refresh-config", action="store_true",
                   help="rewrite BASE/models.config from the versions on disk (alone when no "
                        "RUN_OR_CHECKPOINT is given)")
    p.set_defaults(func=run)


def run(args) -> int:
    if args.source is None:
        return refresh(args)
    from kgan.export import export_run

    target = export_run(args.source, args.name, args.base, serving_base=args.serving_base,
                        warmup_requests=args.warmup_requests)  # rewrites models.config too
    print(f"exported {target} (TF Serving config: {target.parent.parent / 'models.config'})")
    return 0


def refresh(args) -> int:
    from pathlib import Path

    from kgan.config import ExportConfig
    from kgan.errors import UsageError
    from kgan.export.serving import model_names, write_models_config

    if not args.refresh_config:
        raise UsageError("RUN_OR_CHECKPOINT: required (or --refresh-config to rewrite BASE/models.config only)")
    ignored = [flag for flag, value in (("--name", args.name), ("--warmup-requests", args.warmup_requests))
               if value is not None]
    if ignored:
        raise UsageError(f"{', '.join(ignored)}: only mean something with RUN_OR_CHECKPOINT, not with "
                         "--refresh-config alone")
    base = Path(args.base or ExportConfig().base)
    if not base.is_dir():
        raise UsageError(f"--base {base}: no such directory (expected the base directory of exports)")
    try:
        path = write_models_config(base, args.serving_base)
    except OSError as e:
        raise UsageError(f"--base {base}: cannot write {base / 'models.config'} ({e.strerror or e})") from None
    names = model_names(base)
    print(f"wrote {path}: {len(names)} model(s){': ' + ', '.join(names) if names else ''}")
    return 0
