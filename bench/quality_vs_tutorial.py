"""Equal CPU minutes: the TensorFlow DCGAN tutorial as published against kgan's default config, fp32 and bf16.

    python bench/quality_vs_tutorial.py --minutes 2 5 10 --grids docs/images

Contenders, all in this one process, trained in turns up to each mark of process CPU time (`bench/budget.py`: every
thread of the process counts, so a busy machine stretches the run but not the budget; scoring is outside it):
  tutorial    tensorflow.org/tutorials/generative/dcgan: its generator and discriminator, Adam(1e-4) for both,
              batch 256, from_tensor_slices(x).shuffle(60000).batch(256) with a new iterator per epoch, its
              simultaneous two-tape step (`train_throughput.PlainRunner`, which adds one host sync per step)
  kgan        the default experiment (`--config`, pipelines/mnist_dcgan.toml): its model, data and train sections,
              trained as `kgan train` would (`budget.train_schedule`): its phases and their rates (a decaying
              phase's set after every step), up to train.steps; a contender that reaches train.steps before a
              mark trains no more and is scored with its final weights
  kgan_bf16   the same with train.mixed_precision = "mixed_bfloat16": on a CPU without native bf16 it is refused
              (`kgan.cpu.check_precision`), reported as such in the table and not run
  NAME        each `--kgan-configs NAME=PATH` (e.g. a previous default or a candidate): that config's model, data
              and train sections, added after --contenders unless listed there

At each mark every contender's 10,000 samples are scored against the 10,000 vendored digits by two evaluators: an
independent classifier (`build_independent_classifier`: another architecture, another seed) and the pipeline's own
(`build_classifier`, eval.classifier_epochs / eval.classifier_seed), each with the report's reference points (real
vs real, per-pixel Gaussian). Writes one PNG per mark with 64 samples of each contender side by side (left to
right in the order above), prints the rows as they come and a markdown table at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from budget import compiled, run_for, train_schedule  # noqa: E402
from train_throughput import NOISE_DIM, PlainRunner, peak_rss_mib  # noqa: E402

from kgan import cpu, distribute  # noqa: E402
from kgan.config import load_config  # noqa: E402
from kgan.data import load_arrays  # noqa: E402
from kgan.errors import ConfigError  # noqa: E402
from kgan.imageio import tile, to_uint8  # noqa: E402
from kgan.io import atomic_path  # noqa: E402
from kgan.metrics import evaluate, get_extractor, train_classifier  # noqa: E402
from kgan.metrics.classifier import build_independent_classifier  # noqa: E402
from kgan.training import current_step  # noqa: E402

METRICS = ["fid", "is", "pr", "coverage"]
COLUMNS = [("fid", "value", "FID"), ("is", "mean", "IS"), ("pr", "precision", "precision"),
           ("pr", "recall", "recall"), ("coverage", "coverage", "classes")]
TUTORIAL_CHUNK, KGAN_CHUNK = 10, 100  # steps between clock checks (tutorial steps are 4x larger batches)


@contextlib.contextmanager
def precision(policy: str):
    """The Keras global policy `policy` inside the block ("" = float32): layers take it when built."""
    previous = keras.mixed_precision.global_policy()
    distribute.set_precision_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


class Tutorial:
    name, latent_dim, finished = "tutorial", NOISE_DIM, False

    def __init__(self):
        self.runner = PlainRunner(256, tutorial_data=True)

    def train(self, minutes: float) -> int:
        return run_for(lambda: len(self.runner.trial(TUTORIAL_CHUNK)[0]), minutes)[0]

    def images(self, z: np.ndarray) -> np.ndarray:
        return to_uint8(self.runner.generator(z, training=False))


class Kgan:
    def __init__(self, name: str, cfg):
        self.name, self.cfg, self.latent_dim = name, cfg, cfg.model.latent_dim
        with precision(cfg.train.mixed_precision):
            self.model, self.dataset = compiled(cfg)

    def train(self, minutes: float) -> int:
        with precision(self.cfg.train.mixed_precision):
            return train_schedule(self.model, self.cfg, self.dataset, minutes, KGAN_CHUNK)[0]

    @property
    def finished(self) -> bool:
        """Trained to train.steps: it trains no more and keeps its final weights for the later marks."""
        return current_step(self.model) >= self.cfg.train.steps

    def images(self, z: np.ndarray) -> np.ndarray:
        with precision(self.cfg.train.mixed_precision):
            return to_uint8(np.asarray(self.model.generate(z), np.float32))


def samples(contender, n: int, batch: int = 500) -> np.ndarray:
    z = np.random.default_rng(0).standard_normal((n, contender.latent_dim)).astype("float32")
    return np.concatenate([contender.images(z[i:i + batch]) for i in range(0, n, batch)])


def side_by_side(grids: list[np.ndarray], path: Path, gap: int = 8, scale: int = 2) -> None:
    from PIL import Image

    h = max(g.shape[0] for g in grids)
    spacer = np.full((h, gap, grids[0].shape[2]), 255, np.uint8)
    row = np.concatenate([part for g in grids for part in (g, spacer)][:-1], axis=1)
    image = Image.fromarray(row[..., 0]).resize((row.shape[1] * scale, h * scale), Image.NEAREST)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")


def cells(metrics: dict) -> list[float]:
    return [metrics[m][k] for m, k, _ in COLUMNS]


def fmt(values) -> str:
    return " | ".join(f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}" for v in values)


def named_configs(spec: str) -> dict[str, str]:
    """`--kgan-configs`: "NAME=PATH,..." -> {NAME: PATH}; a ValueError names an entry that is not NAME=PATH."""
    pairs = {}
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        name, sep, path = (part.strip() for part in entry.partition("="))
        if not (sep and name and path):
            raise ValueError(f"--kgan-configs: {entry!r} is not NAME=PATH")
        pairs[name] = path
    return pairs


def refusal(cfg) -> str | None:
    """Why `cfg`'s precision policy is refused on this machine (`kgan.cpu.check_precision`), or None."""
    try:
        cpu.check_precision(cfg.train.mixed_precision, cfg.train.allow_emulated_bfloat16,
                            gpu_visible=bool(tf.config.list_physical_devices("GPU")))
    except ConfigError as error:
        return str(error)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="pipelines/mnist_dcgan.toml")
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 10], help="CPU-minute marks")
    parser.add_argument("--n", type=int, default=10000, help="samples per evaluation")
    parser.add_argument("--out", default="artifacts/bench_vs_tutorial")
    parser.add_argument("--grids", help="folder for the side-by-side sample PNGs (default: --out)")
    parser.add_argument("--contenders", default="tutorial,kgan,kgan_bf16")
    parser.add_argument("--kgan-configs", default="", metavar="NAME=PATH,...",
                        help="more kgan contenders, each a config file's model, data and train sections")
    parser.add_argument("--classifier-epochs", type=int, help="both evaluators (default eval.classifier_epochs)")
    args = parser.parse_args()

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {cpu.summary_line()}", flush=True)
    out, grids_dir = Path(args.out), Path(args.grids or args.out)
    out.mkdir(parents=True, exist_ok=True)
    grids_dir.mkdir(parents=True, exist_ok=True)
    cfg = load_config(args.config)
    images, labels = load_arrays(cfg.data.source, cfg.data.data_dir or None)
    epochs = args.classifier_epochs or cfg.eval.classifier_epochs
    t0 = time.perf_counter()
    evaluators = {
        "independent": train_classifier(images, labels, epochs, out / "independent.keras",
                                        seed=cfg.eval.classifier_seed + 1, build=build_independent_classifier),
        "pipeline": train_classifier(images, labels, epochs, out / "pipeline.keras", seed=cfg.eval.classifier_seed),
    }
    extractors = {name: get_extractor(f"classifier:{path}") for name, path in evaluators.items()}
    for name, ext in extractors.items():
        print(f"evaluator {name}: {ext.model.name}, {epochs} epochs, held-out accuracy "
              f"{ext.info['holdout_accuracy']:.4f}")
    print(f"evaluators trained in {time.perf_counter() - t0:.0f} s", flush=True)

    configs = {"kgan": cfg, "kgan_bf16": cfg.replace(**{"train.mixed_precision": "mixed_bfloat16"})}
    try:
        extra = named_configs(args.kgan_configs)
    except ValueError as error:
        parser.error(str(error))
    configs.update({name: load_config(path) for name, path in extra.items()})
    names = [c.strip() for c in args.contenders.split(",") if c.strip()]
    names += [name for name in extra if name not in names]
    unknown = sorted(set(names) - set(configs) - {"tutorial"})
    if unknown:
        parser.error(f"unknown contenders {unknown}; choose from {sorted(['tutorial', *configs])}")
    refused = {name: why for name in names if name != "tutorial" and (why := refusal(configs[name]))}
    for name, why in refused.items():
        print(f"{name}: refused, not run: {why}", flush=True)
    names = [name for name in names if name not in refused]
    contenders = {name: Tutorial() if name == "tutorial" else Kgan(name, configs[name]) for name in names}
    spent = {name: 0.0 for name in names}
    steps = {name: 0 for name in names}
    rss = {}
    rows, references = [], {}
    for mark in sorted(args.minutes):
        for name, contender in contenders.items():  # in turns: machine noise hits every contender alike
            start = time.process_time()
            steps[name] += contender.train(mark - spent[name])
            spent[name] += (time.process_time() - start) / 60
            rss.setdefault(name, peak_rss_mib())
            print(f"[{mark:g} min] {name}: {steps[name]} steps, {spent[name]:.2f} CPU min"
                  + " (finished: train.steps)" * contender.finished, flush=True)
        grids = []
        for name, contender in contenders.items():
            made = samples(contender, args.n)
            grids.append(tile(made[:64], 8))
            row = {"minutes": mark, "name": name, "steps": steps[name], "cpu_minutes": round(spent[name], 3)}
            for evaluator, ext in extractors.items():
                report = evaluate(made, images, ext, metrics=METRICS, n=args.n, seed=0,
                                  cache_dir=out / "feature_cache", progress=False)
                row[evaluator] = cells(report["metrics"])
                references.setdefault(evaluator, {p: cells(v["metrics"]) for p, v in
                                                  report["reference_points"].items()})
            rows.append(row)
            print(f"| {mark:g} | {name} | {row['steps']} | {row['cpu_minutes']:.2f} | {fmt(row['independent'])} | "
                  f"{fmt(row['pipeline'])} |", flush=True)
        side_by_side(grids, grids_dir / f"vs_tutorial_{mark:g}min.png")
        with atomic_path(out / "results.json") as tmp:
            Path(tmp).write_text(json.dumps({"rows": rows, "references": references, "rss_mib": rss,
                                             "refused": refused}, indent=1))

    heads = " | ".join(label for _, _, label in COLUMNS)
    print(f"\n{args.n} samples per model vs the {len(images)} vendored digits; left: independent evaluator, "
          f"right: the pipeline's classifier; classes = class coverage")
    print(f"| CPU min | model | steps | CPU min used | {heads} | {heads} |")
    print("|" + "---|" * (4 + 2 * len(COLUMNS)))
    for row in rows:
        print(f"| {row['minutes']:g} | {row['name']} | {row['steps']} | {row['cpu_minutes']:.2f} | "
              f"{fmt(row['independent'])} | {fmt(row['pipeline'])} |")
    for name, why in refused.items():
        print(f"| | {name} | refused | | {why} |")
    for point in references["independent"]:
        print(f"| | *{point.replace('_', ' ')}* | | | {fmt(references['independent'][point])} | "
              f"{fmt(references['pipeline'][point])} |")
    print("\npeak RSS after each contender's first budget (cumulative, whole process): "
          + ", ".join(f"{name} {mib:.0f} MiB" for name, mib in rss.items()))
    print(f"peak RSS (whole process): {peak_rss_mib():.0f} MiB")
    print("grids (left to right: " + ", ".join(names) + "): "
          + ", ".join(str(grids_dir / f"vs_tutorial_{m:g}min.png") for m in sorted(args.minutes)))


if __name__ == "__main__":
    main()
