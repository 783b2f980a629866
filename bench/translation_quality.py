"""Paired translation on MNIST at equal CPU time: pix2pix against the L1-only U-Net, on edges -> digit and on
inpainting the bottom half.

Each model trains on the training split of the vendored MNIST (`data.holdout` of the shipped configs
`pipelines/mnist_pix2pix_edges.toml` and `mnist_inpaint.toml`) until the process has used `--minutes` of
CPU time (time.process_time, all threads: a busy machine slows the run but does not change the budget), in
chunks of `--chunk` steps. The L1-only baseline is the pipeline's `eval.baselines = ["l1_only"]`
(`kgan.models.registry.baseline_config`: the same U-Net, adversarial weight 0, no discriminator).
All models are scored by `kgan.metrics.evaluate` on the same held-out pairs: FID of outputs against the
held-out targets in the evaluation classifier's features, the classifier's accuracy on the outputs
(`output_accuracy`), L1 / PSNR / SSIM, and the reference points: the identity (the input scored as the
output: edges, or the masked digit) and real targets (real vs real).

Usage:  python bench/translation_quality.py [--minutes 5] [--n 1000] [--classifier-epochs 2] [--limit 0]
        [--out artifacts/bench_translation]
Writes one grid per model to --out: rows of input | output | target.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from budget import train_config
from held_out import Table, evaluation_extractor, score, shipped_config, write_grid
from kgan.cpu import summary_line

METRICS = "fid,output_accuracy,l1,psnr,ssim"
COLUMNS = [("fid", "value", "FID"), ("output_accuracy", "accuracy", "accuracy"), ("l1", "mean", "L1"),
           ("psnr", "mean", "PSNR dB"), ("ssim", "mean", "SSIM")]


TABLE = Table(COLUMNS)


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="CPU minutes of training per model (process time)")
    p.add_argument("--n", type=int, default=1000, help="held-out pairs scored (at most the held-out split)")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_translation", help="where the sample grids go")
    return p.parse_args()


def main():
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    args = parse()
    from kgan.io import write_json
    from kgan.models.registry import baseline_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    edges = shipped_config("mnist_pix2pix_edges", args.seed, args.limit)
    inpaint = shipped_config("mnist_inpaint", args.seed, args.limit)
    runs = [(task, label, run_cfg) for task, cfg in (("edges -> digit", edges), ("inpaint bottom half", inpaint))
            for label, run_cfg in (("pix2pix", cfg), ("L1 only", baseline_config(cfg, "l1_only")[1]))]

    extractor = evaluation_extractor(args.classifier_epochs, args.seed, args.limit)
    print(f"classifier: held-out accuracy {extractor.info.get('holdout_accuracy'):.4f}", flush=True)

    rows = []
    for task, label, cfg in runs:
        model, steps, cpu = train_config(cfg, args.minutes, args.chunk)
        report, held = score(model, cfg, extractor, METRICS, args.n, args.seed)
        n = len(held["target"])
        points = report["reference_points"]
        print(f"{task} / {label}: {steps} steps, {cpu:.2f} CPU min, {n} held-out pairs", flush=True)
        new = [(task, label, steps, cpu, report["metrics"])]
        if label == "pix2pix":
            new += [(task, "identity (input)", 0, 0.0, points["identity"]["metrics"]),
                    (task, "real targets", 0, 0.0, points["real_vs_real"]["metrics"])]
        for row in new:  # printed as they come: a run cut short keeps what it measured
            print(TABLE.row(*row), flush=True)
        rows += new
        write_json(out / "results.json", [dict(zip(("task", "model", "steps", "cpu_minutes", "metrics"), r))
                                          for r in rows])
        grid = write_grid(model, held, out / f"{cfg.name}.png")
        print(f"  grid (input | output | target, two per row): {grid}", flush=True)

    print()
    print(TABLE.header)
    for row in rows:
        print(TABLE.row(*row))
    print("\nFID: outputs vs held-out targets in the evaluation classifier's features (real targets: two halves "
          "of them); accuracy: the classifier's on the outputs against the digits' labels; identity: the input "
          "scored as the output.")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
