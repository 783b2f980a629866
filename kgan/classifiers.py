"""Where the evaluation classifier for a data set lives: one rule for the pipeline and the CLI.

`classifier:PATH` features need a small CNN trained on the data set itself. The pipeline's TrainClassifier
task writes it to ROOT/classifiers/<digest>/classifier.keras, the digest covering what the classifier
depends on (the data section, `eval.classifier_epochs` and `eval.classifier_seed`). `kgan classifier DATA` builds that same task and
`kgan evaluate --features classifier` finds its output here, so a classifier is trained once per data set
and root, whoever asks first.
"""

from __future__ import annotations

from pathlib import Path

from kgan.errors import UsageError

SECTIONS = ("data", "eval.classifier_epochs", "eval.classifier_seed")  # TrainClassifier's identity (kgan.tasks.SECTIONS)
FILE = "classifier.keras"


def classifier_path(root: str | Path, digest: str) -> Path:
    return Path(root) / "classifiers" / digest / FILE


def classifier_config(data: str, config: str | None = None, epochs: int | None = None, seed: int | None = None):
    """The experiment config whose TrainClassifier trains on `data`: `config`'s (else the default) data
    section, epochs and classifier seed, with `data` as the source and `epochs` / `seed` when given."""
    from kgan.config import ExperimentConfig, load_config

    overrides = {"data.source": data}
    if epochs is not None:
        overrides["eval.classifier_epochs"] = epochs
    if seed is not None:
        overrides["eval.classifier_seed"] = seed
    return (load_config(config) if config else ExperimentConfig()).replace(**overrides)


def cached_classifier(root: str | Path, data: str, config: str | None = None, epochs: int | None = None,
                      seed: int | None = None) -> Path:
    """The classifier `kgan classifier DATA` (or a pipeline) trained under `root`; UsageError when there is none."""
    cfg = classifier_config(data, config, epochs, seed)
    path = classifier_path(root, cfg.section_hash(*SECTIONS))
    if not path.is_file():
        same = "".join(f" {flag} {value}" for flag, value in (("--config", config), ("--epochs", epochs),
                                                               ("--seed", seed)) if value is not None)
        raise UsageError(f"--features classifier: no evaluation classifier for {data} under --root {root} "
                         f"({path} is missing); train it with: kgan classifier {data} --root {root}{same}")
    return path.resolve()  # the report names it, readable from any directory
