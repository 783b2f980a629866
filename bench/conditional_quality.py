"""Conditional quality on MNIST: ACGAN's conditional accuracy and InfoGAN's categorical-code purity.

Each model trains for a fixed CPU (wall-clock) budget on the vendored MNIST (`kgan.data`, source "mnist"),
in chunks of `fit` steps until the budget is spent; then
  acgan    conditional accuracy: a classifier trained on real MNIST (`kgan.metrics.train_classifier`)
           labels G(z, y) for y = 0..9 (`--per-class` samples each); accuracy = fraction predicted as y;
  infogan  code purity: G(z, c_cat = k, c_cont ~ U(-1, 1)) classified for k = 0..9; best one-to-one matching
           accuracy between code value and class (Hungarian, scipy.optimize.linear_sum_assignment), and the
           looser majority purity (each code -> its most frequent class).
Models, options and optimizer settings come from the shipped `pipelines/mnist_<model>.toml` (the same budget
and settings as the default DCGAN; samples from the EMA generator). Chance level is 0.10 for both figures.

Usage:  python bench/conditional_quality.py [--minutes 2] [--models acgan,infogan] [--per-class 200]
        [--classifier-epochs 2] [--limit 0] [--threads 0] [--out artifacts/bench_conditional]
Writes one sample grid per model: a row per class (ACGAN) or per categorical code value (InfoGAN).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from budget import train_for
from kgan.cpu import summary_line


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=2.0, help="training budget per model (wall clock)")
    p.add_argument("--models", default="acgan,infogan")
    p.add_argument("--per-class", type=int, default=200, help="samples per class / code value")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--chunk", type=int, default=50, help="steps per fit call between budget checks")
    p.add_argument("--threads", type=int, default=0, help="TF intra/inter op threads (0 = TF default)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_conditional", help="where the sample grids go")
    return p.parse_args()


def main():
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    args = parse()
    import keras
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import kgan.config
    from kgan.data import load_arrays
    from kgan.metrics import ClassifierExtractor, train_classifier
    from kgan.metrics.conditional import code_purity, conditional_report
    from kgan.models import build_gan, build_optimizers

    from kgan.imageio import to_uint8, write_grid_png

    def class_rows(gan, name, seed):
        """10 x 10: row k = class k (ACGAN) or categorical code k with the continuous codes at 0 (InfoGAN)."""
        z = np.tile(np.random.default_rng(seed).standard_normal((10, gan.latent_dim)).astype("float32"), (10, 1))
        k = np.repeat(np.arange(10), 10).astype("int32")
        if name == "infogan":
            codes = {"code_cat": k, "code_cont": np.zeros((100, gan.continuous), "float32")}
            return to_uint8(gan.generate(z, codes))
        return to_uint8(gan.generate(z, k))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = load_arrays("mnist", limit=args.limit)
    print(f"MNIST: {images.shape} uint8, {len(set(labels.tolist()))} classes", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="kgan-bench-cond-"))
    t0 = time.perf_counter()
    clf_path = train_classifier(images, labels, args.classifier_epochs, tmp / "classifier.keras", seed=args.seed)
    extractor = ClassifierExtractor(clf_path)
    print(f"classifier: holdout accuracy {extractor.info.get('holdout_accuracy'):.4f} "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)

    x = (images.astype("float32") / 127.5 - 1.0)
    if x.shape[1] != 28:
        raise SystemExit("expects 28x28 MNIST")
    ds = (tf.data.Dataset.from_tensor_slices((x, labels.astype("int32"))).shuffle(10000, seed=args.seed)
          .batch(args.batch, drop_remainder=True).repeat().prefetch(2))
    rows = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        # The shipped pipeline config's model and optimizer settings: the benchmark measures what users run.
        cfg = kgan.config.load_config(Path(__file__).resolve().parent.parent / "pipelines" / f"mnist_{name}.toml")
        cfg = cfg.replace(**{"seed": args.seed, "data.batch_size": args.batch})
        keras.utils.set_random_seed(args.seed)
        gan = build_gan(cfg)
        gan.compile(*build_optimizers(cfg))
        steps, minutes, logs = train_for(gan, ds, args.minutes, args.chunk, clock="wall")
        train_s = minutes * 60
        print(f"{name}: {steps} steps in {train_s:.0f} s; last logs "
              + ", ".join(f"{k} {v:.3f}" for k, v in logs.items()), flush=True)
        grid = out / f"{name}_rows.png"
        write_grid_png(class_rows(gan, name, args.seed), grid, cols=10, scale=2)
        print(f"  grid (one row per {'code value' if name == 'infogan' else 'class'}, z fixed per column): {grid}",
              flush=True)
        if name == "infogan":
            res = code_purity(gan, extractor, n_per_code=args.per_class, seed=args.seed)
            rows.append((name, steps, train_s, "code purity (Hungarian)", res["purity"]))
            rows.append((name, steps, train_s, "code purity (majority)", res["majority_purity"]))
            print(f"  matching code->class: {res['matching']}", flush=True)
        else:
            res = conditional_report(gan, extractor, n_per_class=args.per_class, seed=args.seed)
            rows.append((name, steps, train_s, "conditional accuracy", res["accuracy"]))
            print("  per-class accuracy: " + " ".join(f"{a:.2f}" for a in res["per_class_accuracy"]), flush=True)

    print()
    print(f"{'model':<9}{'steps':>7}{'train s':>9}  {'metric':<26}{'value':>7}")
    for name, steps, secs, metric, value in rows:
        print(f"{name:<9}{steps:>7}{secs:>9.0f}  {metric:<26}{value:>7.3f}")
    print(f"\nclassifier holdout accuracy: {extractor.info.get('holdout_accuracy'):.4f}; chance = 0.100; "
          f"CPU threads: {os.cpu_count()} visible")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
