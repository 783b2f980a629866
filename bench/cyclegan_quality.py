"""Unpaired translation on MNIST at equal CPU time: does CycleGAN keep the content it should?

Task (pipelines/mnist_cyclegan_thick.toml): domain A = the digits at even positions, domain B = the digits at odd
positions with their strokes thickened (3x3 dilation); no pairs, but a known ground truth: a translated digit
should keep its class. CycleGAN and its GAN-alone ablation (`eval.baselines = ["no_cycle"]`: no cycle and no
identity term) train on the training split until the process has used `--minutes` of CPU time each
(time.process_time, all threads: a busy machine slows the run but does not change the budget), in chunks of
`--chunk` steps. Both are scored on the same held-out digits of domain A:
- content accuracy: a classifier trained on domain B's labelled images (the target domain) labels G_AB(a); the
  accuracy is against a's class (chance 0.1). A GAN alone can make perfect thick digits of the wrong class.
- FID of G_AB(a) against held-out domain B in that classifier's features.
- cycle L1: mean |G_BA(G_AB(a)) - a| in [0, 1] units (pixels / 255).
- reference: the untranslated inputs scored the same way (accuracy and FID of a itself against domain B).

Usage:  python bench/cyclegan_quality.py [--minutes 5] [--n 1000] [--classifier-epochs 2] [--limit 0]
        [--out artifacts/bench_cyclegan]
Writes one grid per model to --out: rows of a | G_AB(a) | G_BA(G_AB(a)), then b | G_BA(b) | G_AB(G_BA(b)).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from pathlib import Path

from budget import train_for
from kgan.cpu import summary_line


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="CPU minutes of training per model (process time)")
    p.add_argument("--n", type=int, default=1000, help="held-out digits scored (at most the held-out split)")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_cyclegan", help="where the sample grids go")
    return p.parse_args()


def train(cfg, minutes: float, chunk: int):
    """The model of `cfg` trained for `minutes` of process CPU time at the config's constant rate (a
    time budget has no known end to decay towards); (model, steps, CPU minutes)."""
    import keras

    from kgan.data.features import feature_dataset
    from kgan.models import build_gan
    from kgan.models.registry import optimizers_for

    keras.utils.set_random_seed(cfg.seed)
    model = build_gan(cfg)
    model.compile(optimizers=optimizers_for(cfg, model))
    steps, cpu, _ = train_for(model, feature_dataset(cfg.data, seed=cfg.seed, split="train"), minutes, chunk)
    return model, steps, cpu


def scores(images, labels, reference_stats, extractor) -> dict:
    """Accuracy against `labels` and FID against the reference statistics, for uint8 images."""
    import numpy as np

    from kgan.metrics import RunningStats, fid

    features, probs = extractor.run(images)
    stats = RunningStats()
    stats.update(features)
    return {"accuracy": float(np.mean(probs.argmax(axis=1) == labels)), "fid": fid(stats, reference_stats)["value"]}


def main():
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    args = parse()
    import numpy as np

    import kgan.config
    from kgan import triptych
    from kgan.data.features import feature_arrays
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.metrics import ClassifierExtractor, RunningStats, train_classifier
    from kgan.models import surface
    from kgan.models.registry import baseline_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    pipelines = Path(__file__).resolve().parent.parent / "pipelines"
    cfg = kgan.config.load_config(pipelines / "mnist_cyclegan_thick.toml").replace(
        **{"seed": args.seed, "train.phases": [], **({"data.limit": args.limit} if args.limit else {})})
    runs = [("cyclegan", cfg), ("no cycle (GAN alone)", baseline_config(cfg, "no_cycle")[1])]

    # the target domain's classifier: domain B's training split (what the `image` / `label` features hold)
    train_b = feature_arrays(cfg.data, 10**9, seed=args.seed, split="train")
    images_b, labels_b = to_uint8(train_b["image"]), train_b["label"]
    clf = train_classifier(images_b, labels_b, args.classifier_epochs, Path(tempfile.mkdtemp()) / "clf.keras",
                           seed=args.seed)
    extractor = ClassifierExtractor(clf)
    print(f"domain-B classifier: held-out accuracy {extractor.info.get('holdout_accuracy'):.4f} "
          f"({len(images_b)} thick digits)", flush=True)
    held = feature_arrays(cfg.data, args.n, seed=args.seed, split="holdout")
    a, labels_a, b = held["image_a"], held["label_a"], held["image"]
    reference = RunningStats()
    reference.update(extractor.features(to_uint8(b)))
    print(f"{len(a)} held-out digits per domain", flush=True)

    rows = [("untranslated inputs (a)", 0, 0.0, {**scores(to_uint8(a), labels_a, reference, extractor),
                                                 "cycle_l1": None})]
    for label, run_cfg in runs:
        model, steps, cpu = train(run_cfg, args.minutes, args.chunk)
        served = {d.name: d.network for d in surface.directions(model)}  # a_to_b, b_to_a
        fake_b = np.concatenate([np.asarray(served["a_to_b"](a[i:i + 250])) for i in range(0, len(a), 250)])
        back = np.concatenate([np.asarray(served["b_to_a"](fake_b[i:i + 250])) for i in range(0, len(a), 250)])
        cycle_l1 = float(np.mean(np.abs(to_uint8(back).astype(float) - to_uint8(a).astype(float))) / 255.0)
        rows.append((label, steps, cpu, {**scores(to_uint8(fake_b), labels_a, reference, extractor),
                                        "cycle_l1": cycle_l1}))
        print(f"{label}: {steps} steps, {cpu:.2f} CPU min", flush=True)
        shown = {"image_a": a[:8], "image_b": b[:8]}
        grid, _ = triptych.cycles(surface.directions(model), shown)
        path = write_grid_png(triptych.flat(grid), out / f"{run_cfg.name}.png", cols=6, scale=2)
        print(f"  grid (input | translated | translated back; a -> b -> a and b -> a -> b rows, two per row): "
              f"{path}", flush=True)

    print()
    print("| model | steps | CPU min | content accuracy (G(a) as a's class) | FID to domain B | cycle L1 |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, steps, cpu, m in rows:
        cycle = "-" if m["cycle_l1"] is None else f"{m['cycle_l1']:.4f}"
        print(f"| {label} | {steps or '-'} | {f'{cpu:.2f}' if cpu else '-'} | {m['accuracy']:.4f} | {m['fid']:.4g} | "
              f"{cycle} |")
    print("\ncontent accuracy: the domain-B classifier's labels of the translated held-out digits against the input "
          "digits' classes (chance 0.1); FID in that classifier's features against held-out domain B; cycle L1: "
          "|G_BA(G_AB(a)) - a| in [0, 1] units.")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
