"""`kgan classifier DATA [--root runs] [--epochs N] [--seed S] [--config TOML]`: the evaluation classifier for DATA.

Runs the pipeline's own TrainClassifier task, so the file is where a pipeline with the same data section
would put it (and use it), and a second call only says where it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kgan.argtypes import positive_int, seed


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "classifier", help="train (once) the evaluation classifier for `evaluate --features classifier`",
        description="Prepare DATA and train the small CNN whose features `kgan evaluate --features classifier` "
                    "scores with, as the pipeline's TrainClassifier task: ROOT/classifiers/<digest>/"
                    "classifier.keras, the digest covering the data section and the epochs. Already trained: "
                    "nothing is done and its path is printed.")
    p.add_argument("data", metavar="DATA", help="data source to train on (e.g. mnist, npz:PATH)")
    p.add_argument("--root", default="runs", help="pipeline root that holds classifiers/ and datasets/")
    from kgan.config import EvalConfig

    p.add_argument("--epochs", type=positive_int,
                   help=f"training epochs (default: eval.classifier_epochs of --config, else "
                        f"{EvalConfig().classifier_epochs})")
    p.add_argument("--seed", type=seed, help="the classifier's seed (default: eval.classifier_seed of --config, else 0); "
                                          "another seed trains a second classifier, e.g. for a perceptual loss "
                                          "(model.options.perceptual = \"classifier:PATH\"), so evaluation does not "
                                          "score with the loss's own network")
    p.add_argument("--config", help="experiment TOML whose data section (resolution, limit, ...) and "
                                    "eval.classifier_epochs to use; DATA replaces its data.source")
    p.set_defaults(func=run)


def run(args) -> int:
    from kgan.classifiers import classifier_config
    from kgan.commands.pipeline import build, check_source

    cfg = classifier_config(args.data, args.config, args.epochs, args.seed)
    check_source(cfg.data.source, "DATA")
    from kgan import tasks

    task = tasks.TrainClassifier.for_config(cfg, str(Path(args.root).resolve()))
    if task.complete():
        print(f"classifier for {args.data} already trained: {task.output().path}")
        return 0
    failed = build([task])
    if failed:
        print(f"kgan classifier: failed ({failed}); the error is above", file=sys.stderr)
        return 1
    print(f"classifier for {args.data}: {task.output().path}")
    return 0
