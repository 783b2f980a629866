"""Scoring image-to-image models on their config's held-out pairs, shared by the paired benchmarks
(translation, restoration): one report per model, its input | output | target grid, and markdown rows."""

from __future__ import annotations

from pathlib import Path


def score(model, cfg, extractor, metrics: str, n: int, seed: int):
    """(report, the held-out features scored): `kgan.metrics.evaluate` of `model` on up to `n` held-out pairs of
    `cfg`'s data, with the data's reference points (identity, classical inverses, real targets)."""
    from kgan.data.features import feature_arrays, feature_batches
    from kgan.imageio import to_uint8
    from kgan.metrics import evaluate

    held = feature_arrays(cfg.data, n, seed=seed, split="holdout")
    count = len(held["target"])
    batch = min(250, count)
    data = feature_batches(cfg.data, batch, seed=seed, split="holdout")
    report = evaluate(model, to_uint8(held["target"]), extractor, metrics=metrics, n=count, seed=seed,
                      batch_size=batch, data=data, data_config=cfg.data, progress=False)
    return report, held


def write_grid(model, held: dict, path: Path, examples: int = 16) -> Path:
    """Rows of input | output | target for the first `examples` held-out pairs, two per row."""
    import numpy as np

    from kgan.imageio import to_uint8, write_grid_png
    from kgan.metrics import from_gan

    shown = {k: v[:examples] for k, v in held.items()}
    outputs = to_uint8(np.asarray(model.infer({"source": shown["source"]})))
    triptych = np.stack([from_gan(model).identity(outputs, shown), outputs, to_uint8(shown["target"])], axis=1)
    return write_grid_png(triptych.reshape(-1, *outputs.shape[1:]), path, cols=6, scale=2)


class Table:
    """Markdown rows `| task | model | steps | CPU min | <columns> |`; `columns`: (metric, key, title)."""

    def __init__(self, columns):
        self.columns = columns

    @property
    def header(self) -> str:
        titles = " | ".join(title for _, _, title in self.columns)
        return f"| task | model | steps | CPU min | {titles} |\n|---|---|---:|---:|" + "---:|" * len(self.columns)

    def row(self, task, label, steps, cpu, metrics) -> str:
        cells = [f"{metrics[m][k]:.4g}" if m in metrics else "-" for m, k, _ in self.columns]
        return f"| {task} | {label} | {steps or '-'} | {f'{cpu:.2f}' if cpu else '-'} | " + " | ".join(cells) + " |"


def shipped_config(name: str, seed: int, limit: int = 0):
    """The shipped `pipelines/NAME.toml` with the benchmark's seed (and `data.limit` when > 0)."""
    import kgan.config

    overrides = {"seed": seed, **({"data.limit": limit} if limit else {})}
    return kgan.config.load_config(Path(__file__).resolve().parent.parent / "pipelines" / f"{name}.toml").replace(
        **overrides)


def evaluation_extractor(epochs: int, seed: int, limit: int = 0):
    """Features of an evaluation classifier trained on the vendored MNIST (the first `limit` digits when > 0)."""
    import tempfile

    from kgan.data import load_arrays
    from kgan.metrics import ClassifierExtractor, train_classifier

    images, labels = load_arrays("mnist", limit=limit)
    return ClassifierExtractor(train_classifier(images, labels, epochs, Path(tempfile.mkdtemp()) / "clf.keras",
                                                seed=seed))
