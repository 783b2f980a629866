"""Projection quality on held-out MNIST digits, plus the README's morph, arithmetic and steering figures.

A DCGAN (the shipped `pipelines/mnist_dcgan.toml`, with `data.holdout` so the last digits are never trained on) is
trained for `--minutes` of process CPU time (bench/budget.py); two evaluation classifiers are trained on the
training digits only, one (seed 1) for the projection's feature distance, one (seed 2) to score: a loss never
grades itself. `--n` held-out digits are projected (`kgan.latent_tools.project`: `--starts` random starts, `--steps`
Adam steps) with pixels + classifier features, and with pixels only. Reported, as measured:
  pixel MSE      mean squared error of the reconstruction, images in [-1, 1]
  label agreement  fraction of reconstructions the scoring classifier labels as the digit's true label
                 (reference: its accuracy on the held-out digits themselves)
Figures (written to --figures, small PNGs): the first 16 held-out digits above their projections, two morph strips
between projected digits, the arithmetic grid of "7:thick - 7:thin + 1:thin", steering samples towards 8.

Usage: python bench/projection_quality.py [--minutes 4] [--n 100] [--starts 4] [--steps 200]
       [--figures docs/images] [--threads 0]
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from budget import train_config
from held_out import shipped_config
from kgan.cpu import summary_line


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=4.0, help="DCGAN training budget (process CPU minutes)")
    p.add_argument("--n", type=int, default=100, help="held-out digits projected")
    p.add_argument("--starts", type=int, default=4)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--holdout", type=float, default=0.1, help="data.holdout: the last fraction never trained on")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--chunk", type=int, default=100, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="TF intra/inter op threads (0 = TF default)")
    p.add_argument("--figures", default="docs/images", help="where the PNG figures go")
    return p.parse_args()


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    from kgan.data import load_arrays
    from kgan.data.features import feature_arrays
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.latent_tools import arithmetic as arith
    from kgan.latent_tools.distance import make_distance
    from kgan.latent_tools.judges import Judge
    from kgan.latent_tools.morph import morph
    from kgan.latent_tools.project import project
    from kgan.latent_tools.space import from_model
    from kgan.latent_tools.steer import steer
    from kgan.metrics import train_classifier

    cpu0 = time.process_time()
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    cfg = shipped_config("mnist_dcgan", args.seed).replace(**{"data.holdout": args.holdout})
    images, labels = load_arrays("mnist")
    trained = int(round(len(images) * (1 - args.holdout)))
    tmp = Path(tempfile.mkdtemp(prefix="kgan-bench-projection-"))
    paths = [train_classifier(images[:trained], labels[:trained], args.classifier_epochs, tmp / f"clf{s}.keras", seed=s)
             for s in (1, 2)]
    print(f"classifiers on the {trained} training digits: {time.process_time() - cpu0:.0f} CPU s", flush=True)

    gan, steps, minutes = train_config(cfg.replace(**{"train.steps": 10_000_000}), args.minutes, args.chunk)
    print(f"DCGAN: {steps} steps in {minutes:.2f} CPU min", flush=True)
    lm = from_model(gan)
    held = feature_arrays(cfg.data, args.n, seed=args.seed, split="holdout")
    targets, truth = held["image"], held["label"]
    scorer = Judge(paths[1], lm.image_shape)
    reference = float(np.mean(scorer.labels(targets)[0] == truth))

    rows, results = [], {}
    for name, features in (("pixels + classifier features", f"classifier:{paths[0]}"), ("pixels only", None)):
        t0 = time.process_time()
        result = project(lm, targets, make_distance(lm.image_shape, features), starts=args.starts, steps=args.steps,
                         lr=args.lr, seed=args.seed)
        cpu = time.process_time() - t0
        agreement = float(np.mean(scorer.labels(result.images)[0] == truth))
        rows.append((name, float(result.pixel_mse.mean()), float(np.median(result.pixel_mse)), agreement, cpu))
        results[name] = result
        print(f"{name}: pixel MSE {rows[-1][1]:.4f}, label agreement {agreement:.3f} ({cpu:.0f} CPU s)", flush=True)

    best = results["pixels + classifier features"]
    shown = min(16, args.n)
    write_grid_png(to_uint8(np.concatenate([targets[:8], best.images[:8], targets[8:shown], best.images[8:shown]])),
                   figures / "latent_projection.png", cols=8, scale=2)
    first = {int(k): int(np.flatnonzero(truth == k)[0]) for k in np.unique(truth)}
    strips = []
    for a, b in ((first.get(3, 0), first.get(8, 1)), (first.get(1, 2), first.get(7, 3))):
        pick = lambda i: {k: v[i:i + 1] for k, v in best.inputs.items()}  # noqa: E731
        strips.append(morph(lm, pick(a), pick(b), 10, "spherical")[1])
    write_grid_png(to_uint8(np.concatenate(strips)), figures / "latent_morph.png", cols=10, scale=2)

    judge = Judge(paths[0], lm.image_shape)
    expression = "7:thick - 7:thin + 1:thin"
    combo = arith.arithmetic(lm, judge, arith.parse_expression(expression), exemplars=3, pool=2000, seed=args.seed)
    grid, cols = arith.grid(lm, combo, variations=3, seed=args.seed)
    write_grid_png(to_uint8(grid), figures / "latent_arithmetic.png", cols=cols, scale=2)
    result_label = int(scorer.labels(lm.images(combo.result))[0][0])
    start = lm.draw(4, args.seed + 1)
    steering = steer(lm, judge, "8", start, step=0.25, max_distance=3.0, steps=9)
    write_grid_png(to_uint8(steering.images.reshape(-1, *steering.images.shape[2:])), figures / "latent_steer.png",
                   cols=10, scale=2)
    p_start = np.exp(steering.scores[:, 0]).mean()
    p_end = np.exp(steering.scores[:, -1]).mean()
    scored = scorer.extractor.probs(to_uint8(steering.images[:, [0, -1]].reshape(-1, *lm.image_shape)))[:, 8]

    print()
    print(f"| distance | pixel MSE (mean) | pixel MSE (median) | label agreement | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name, mse, median, agreement, cpu in rows:
        print(f"| {name} | {mse:.4f} | {median:.4f} | {agreement:.3f} | {cpu:.0f} |")
    print(f"| (the held-out digits themselves) | 0 | 0 | {reference:.3f} | - |")
    print(f"\nDCGAN {steps} steps ({minutes:.2f} CPU min); {args.n} held-out digits, {args.starts} starts x "
          f"{args.steps} Adam steps (peak lr {args.lr}); scoring classifier seed 2, distance classifier seed 1 "
          f"(held-out accuracies {Judge(paths[1]).extractor.info['holdout_accuracy']:.3f} / "
          f"{judge.extractor.info['holdout_accuracy']:.3f})")
    print(f"arithmetic {expression!r}: exemplars {[t.exemplars.tolist() for t in combo.terms]}; the result is "
          f"labelled {result_label} by the scoring classifier")
    print(f"steering towards 8 (step 0.25, bound 3, 9 steps): mean p(8) {p_start:.3f} -> {p_end:.3f} by the steering "
          f"classifier, {scored[0::2].mean():.3f} -> {scored[1::2].mean():.3f} by the scoring one")
    print(f"total {time.process_time() - cpu0:.0f} CPU s; CPU threads visible: {os.cpu_count()}")
    print(f"figures: {', '.join(str(figures / f'latent_{n}.png') for n in ('projection', 'morph', 'arithmetic', 'steer'))}")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
