"""Small data: DCGAN on 100 / 500 / 2,000 MNIST digits with no augmentation, DiffAugment and ADA, at equal steps.

Every run trains the model of the shipped `pipelines/mnist_dcgan_small.toml` (its `train.augment` replaced; ADA with
the config's target, interval and speed unless --ada-images is given) on the first N vendored digits for --steps
steps (`bench/budget.py` `train_steps`; its CPU minutes reported), then is scored on held-out digits: the last
--held-out of the 10,000, which no run trains on.
  FID       of --samples samples (the EMA generator) against the held-out digits, in the features of an evaluation
            classifier trained on the vendored MNIST (`bench/held_out.py`); the `real` row is the first 2,000
            digits' FID against the same held-out digits (what a perfect generator of MNIST would score);
  D gap     the discriminator's mean raw output on (up to 2,000 of) its training digits minus that on the held-out
            digits (`Engine.real_critic_scores`: inference mode, not augmented): a critic that memorised its
            training set tells it apart from new digits of the same distribution;
  ADA p     the augmentation probability ADA ended at.
Prints a markdown table and the command; writes the figures (JSON) and one grid of samples, a row of 12 per run
(`samples.png`), to --out.

Usage:  python bench/small_data.py [--steps 3000] [--sizes 100,500,2000] [--augments none,diffaugment,ada]
        [--ada-images N] [--samples 2000] [--held-out 2000] [--out artifacts/bench_small_data]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from budget import compiled, train_steps  # noqa: E402
from held_out import evaluation_extractor, shipped_config  # noqa: E402
from kgan.cpu import summary_line  # noqa: E402

AUGMENTS = {"none": "", "diffaugment": "diffaugment", "ada": "ada"}


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=3000, help="training steps of every run")
    p.add_argument("--sizes", default="100,500,2000", help="training digits per run (the first N)")
    p.add_argument("--augments", default="none,diffaugment,ada", help=f"from {list(AUGMENTS)}")
    p.add_argument("--ada-images", type=int, default=0, help="ADA's train.ada_images (0 = the config's)")
    p.add_argument("--samples", type=int, default=2000, help="generated samples per FID")
    p.add_argument("--held-out", type=int, default=2000, help="the last N vendored digits, never trained on")
    p.add_argument("--classifier-epochs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=250, help="steps per fit call")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_small_data")
    return p.parse_args()


def critic_gap(model, train_images, held_images):
    """(mean D output on training digits, on held-out digits, their difference), inference mode."""
    import numpy as np

    def mean_output(images):
        return float(np.mean(np.asarray(model.real_critic_scores({"image": images / 127.5 - 1.0})["d"])))

    train, held = mean_output(train_images), mean_output(held_images)
    return train, held, train - held


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np

    from kgan.data import load_arrays
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.metrics import evaluate

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, _ = load_arrays("mnist")
    held = images[-args.held_out:]
    sizes = [int(s) for s in args.sizes.split(",")]
    if max(sizes) > len(images) - args.held_out:
        sys.exit(f"--sizes: at most {len(images) - args.held_out} digits are not held out")
    extractor = evaluation_extractor(args.classifier_epochs, args.seed)
    real = evaluate(images[:2000], held, extractor, metrics="fid", n=2000, seed=args.seed,
                    progress=False)["metrics"]["fid"]["value"]
    rows, grids, cpu_total = [], [], 0.0
    z = np.random.default_rng(args.seed).standard_normal((12, 64)).astype("float32")
    for size in sizes:
        for name in args.augments.split(","):
            overrides = {"data.holdout": 0.0, "train.augment": AUGMENTS[name], "train.steps": args.steps}
            if args.ada_images:
                overrides["train.ada_images"] = args.ada_images
            cfg = shipped_config("mnist_dcgan_small", args.seed, limit=size).replace(**overrides)
            model, data = compiled(cfg)
            steps, cpu, _ = train_steps(model, data, args.steps, args.chunk)
            cpu_total += cpu
            fid = evaluate(model, held, extractor, metrics="fid", n=args.samples, seed=args.seed,
                           progress=False)["metrics"]["fid"]["value"]
            gap = critic_gap(model, images[:min(size, 2000)].astype(np.float32), held.astype(np.float32))
            p = float(model.augmentation.p.numpy()) if name == "ada" else None
            rows.append({"digits": size, "augment": name, "steps": steps, "cpu_minutes": round(cpu, 2), "fid": fid,
                         "d_train": gap[0], "d_held_out": gap[1], "d_gap": gap[2], "ada_p": p})
            grids.append(to_uint8(np.asarray(model.infer({"z": z}))))
            print(f"[bench] {size} digits, {name}: FID {fid:.2f}, D gap {gap[2]:.3f}"
                  + (f", p {p:.3f}" if p is not None else "") + f" ({cpu:.2f} CPU min)", file=sys.stderr, flush=True)
    write_grid_png(np.concatenate(grids), out / "samples.png", cols=12)
    (out / "small_data.json").write_text(json.dumps({"real_fid": real, "runs": rows}, indent=2))
    print(f"\ncommand: {shlex.join([sys.executable, *sys.argv])}")
    print(f"{args.steps} steps per run, batch 64; FID of {args.samples} samples vs the last {args.held_out} vendored "
          f"digits (classifier features); training took {cpu_total:.1f} CPU min in all, "
          f"the whole benchmark {time.process_time() / 60:.1f}\n")
    print("| digits | augment | CPU min | FID | D(train) | D(held out) | D gap | ADA p |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        p = f"{r['ada_p']:.3f}" if r["ada_p"] is not None else "-"
        print(f"| {r['digits']} | {r['augment']} | {r['cpu_minutes']:.2f} | {r['fid']:.2f} | {r['d_train']:.3f} | "
              f"{r['d_held_out']:.3f} | {r['d_gap']:.3f} | {p} |")
    print(f"| 2000 real digits | - | - | {real:.2f} | - | - | - | - |")


if __name__ == "__main__":
    main()
