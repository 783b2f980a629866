"""Conditional quality on MNIST: ACGAN's conditional accuracy and InfoGAN's categorical-code purity.

Each model trains for a fixed CPU (wall-clock) budget on the vendored MNIST (`kgan.data`, source "mnist"),
in chunks of `fit` steps until the budget is spent; then
  acgan    conditional accuracy: a classifier trained on real MNIST (`kgan.metrics.train_classifier`)
           labels G(z, y) for y = 0..9 (`--per-class` samples each); accuracy = fraction predicted as y;
  infogan  code purity: G(z, c_cat = k, c_cont ~ U(-1, 1)) classified for k = 0..9; best one-to-one matching
           accuracy between code value and class (Hungarian, scipy.optimize.linear_sum_assignment), and the
           looser majority purity (each code -> its most frequent class).
Nets: the registry's DCGAN (width 32, latent 62 for InfoGAN as in the paper's MNIST setup, 64 for ACGAN),
batch 64, Adam 2e-4 / beta1 0.5, no EMA. Chance level is 0.10 for both figures.

Usage:  python bench/conditional_quality.py [--minutes 2] [--models acgan,infogan] [--per-class 200]
        [--classifier-epochs 2] [--limit 0] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=2.0, help="training budget per model (wall clock)")
    p.add_argument("--models", default="acgan,infogan")
    p.add_argument("--per-class", type=int, default=200, help="samples per class / code value")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--chunk", type=int, default=50, help="steps per fit call between budget checks")
    p.add_argument("--threads", type=int, default=0, help="TF intra/inter op threads (0 = TF default)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main():
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
        model = {"name": name, "width": args.width, "latent_dim": 62 if name == "infogan" else 64}
        if name == "acgan":
            model["num_classes"] = 10
        if name == "infogan":
            model["options"] = {"categorical": 10, "continuous": 2}
        cfg = kgan.config.from_dict({"seed": args.seed, "model": model,
                                     "data": {"resolution": 28, "channels": 1, "batch_size": args.batch},
                                     "train": {"ema": 0.0}})
        keras.utils.set_random_seed(args.seed)
        gan = build_gan(cfg)
        gan.compile(*build_optimizers(cfg))
        budget = args.minutes * 60.0
        start, steps, logs = time.perf_counter(), 0, {}
        while time.perf_counter() - start < budget:
            h = gan.fit(ds, steps_per_epoch=args.chunk, epochs=1, verbose=0)
            steps += args.chunk
            logs = {k: float(v[-1]) for k, v in h.history.items()}
        train_s = time.perf_counter() - start
        print(f"{name}: {steps} steps in {train_s:.0f} s; last logs "
              + ", ".join(f"{k} {v:.3f}" for k, v in logs.items()), flush=True)
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
