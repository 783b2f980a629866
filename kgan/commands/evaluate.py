"""`kgan evaluate MODEL|--samples SOURCE --data SOURCE --features SPEC`: scores against a data source, as JSON."""

from __future__ import annotations

import argparse

from kgan.argtypes import non_negative_float, positive_int, seed


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate", help="FID/IS/KID/precision-recall/... of a model or samples vs real data",
        description="Score generated images against a reference data source. The report (JSON) "
                    "includes real-vs-real and per-pixel-Gaussian reference points.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("model", nargs="?", metavar="MODEL",
                     help="run directory, checkpoint prefix RUN/checkpoints/ckpt-N, saved_models/NAME or "
                          "saved_models/NAME/VERSION")
    src.add_argument("--model", dest="model_option", metavar="MODEL", help="the same as MODEL")
    src.add_argument("--samples", help="kgan data source of generated images (npz:PATH, "
                                       "folder:PATH, ...)")
    p.add_argument("--version", type=positive_int, help="export version (default: latest) for saved_models/NAME")
    p.add_argument("--data", required=True, help="reference data source (e.g. mnist, npz:PATH)")
    p.add_argument("--features", required=True,
                   help="classifier (the one `kgan classifier DATA` trained under --root), "
                        "classifier:PATH.keras or inception:HANDLE (TF Hub URL or local dir)")
    p.add_argument("--root", default="runs", help="pipeline root where --features classifier is looked up")
    p.add_argument("--classifier-epochs", type=positive_int, metavar="N",
                   help="with --features classifier: the one trained with `kgan classifier --epochs N` "
                        "(default: eval.classifier_epochs of --config)")
    p.add_argument("--classifier-seed", type=seed, metavar="S",
                   help="with --features classifier: the one trained with `kgan classifier --seed S` "
                        "(default: eval.classifier_seed of --config)")
    p.add_argument("--n", type=positive_int, default=10000, help="number of generated samples to score")
    p.add_argument("--metrics", default=None,
                   help="comma list of metric names (fid, kid, pr, is, coverage, ms_ssim, swd, "
                        "ppl, ...; all: `kgan config keys`). Default: eval.metrics "
                        "of --config, else of the default config (fid,is,kid,pr,coverage)")
    p.add_argument("--config", help="experiment TOML whose eval.metrics is the default metric set (and whose "
                                    "data section keys --features classifier)")
    p.add_argument("--out", help="write the JSON report here")
    p.add_argument("--seed", type=seed, default=0, help="seed of the generated samples")
    p.add_argument("--truncation", type=non_negative_float, default=1.0,
                   help="truncation psi of the scored samples (1 = none): the model's own when it declares one "
                        "(StyleGAN: in W), else a scale of its normal input; PPL paths are never truncated")
    p.add_argument("--batch-size", type=positive_int, default=250,
                   help="images per generator call and feature batch")
    p.add_argument("--cache-dir", default=None,
                   help="cache reference features here (default: next to --out, else none)")
    p.add_argument("--data-dir", default=None, help="TFDS data directory")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def default_metrics(config_path: str | None) -> list[str]:
    """The config's `eval.metrics`: what the pipeline's Evaluate scores, so that a report made
    by hand is comparable with the pipeline's (and does not run every slow metric)."""
    from kgan.config import EvalConfig, load_config

    return load_config(config_path).eval.metrics if config_path else EvalConfig().metrics


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kgan.data.features import feature_batches
    from kgan.io import write_json
    from kgan.metrics import evaluate, format_table
    from kgan.metrics.sources import generator_from_path

    model = args.model or args.model_option
    features = features_spec(args)  # before the model is loaded
    if model:
        refuse_the_loss_network(model, features)
    samples = generator_from_path(model, args.version) if model else args.samples
    if model:
        samples.truncation = args.truncation
    data_cfg = model_data_config(model, samples) if model else None
    data = feature_batches(data_cfg, args.batch_size, seed=args.seed,
                           split="evaluation") if data_cfg else None
    metrics = args.metrics or default_metrics(args.config)
    cache_dir = args.cache_dir or (str(Path(args.out).parent / ".metrics-cache")
                                   if args.out else None)
    report = evaluate(samples, args.data, features, metrics=metrics, n=args.n,
                      seed=args.seed, batch_size=args.batch_size, cache_dir=cache_dir,
                      data_dir=args.data_dir, data=data, data_config=data_cfg, progress=not args.quiet)
    report["command"] = {"model": model, "samples": args.samples, "data": args.data, "features": features,
                         "truncation": args.truncation}
    if args.out:
        write_json(args.out, report)
    print(format_table(report))
    return 0


def features_spec(args) -> str:
    """`--features` as `kgan.metrics` takes it: a bare `classifier` is the cached one for --data (kgan.classifiers)."""
    if args.features != "classifier":
        return args.features
    from kgan.classifiers import cached_classifier

    return f"classifier:{cached_classifier(args.root, args.data, args.config, args.classifier_epochs, args.classifier_seed)}"


def refuse_the_loss_network(model_path: str, features: str) -> None:
    """A run whose loss reads a classifier (a perceptual loss) is not scored with that same classifier, as the
    pipeline refuses it too (`kgan.models.registry.check_evaluation_network`); exports carry no config to check."""
    from pathlib import Path

    from kgan.config import load_config
    from kgan.models.registry import check_evaluation_network
    from kgan.runs import RunLayout, split_checkpoint

    layout = RunLayout(split_checkpoint(Path(model_path))[0])
    if features.startswith("classifier:") and layout.config.is_file():
        check_evaluation_network(load_config(layout.config), features.removeprefix("classifier:"))


def model_data_config(model_path: str, generator):
    """The data section that feeds a model whose inputs come from data (or whose outputs have targets): its run
    directory's, transform included. None for generators from noise."""
    from pathlib import Path

    from kgan.config import load_config
    from kgan.errors import UsageError
    from kgan.models import surface
    from kgan.runs import RunLayout, split_checkpoint

    if not generator.fed_from_data:
        return None
    layout = RunLayout(split_checkpoint(Path(model_path))[0])
    if not layout.config.is_file():
        raise UsageError(f"MODEL {model_path}: this model is fed from data features "
                         f"{surface.data_features(generator.specs) or [generator.target_feature]}; evaluate its run "
                         "directory (whose config says how the data is made) instead of the export")
    return load_config(layout.config).data
