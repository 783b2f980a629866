"""Quality benchmark: samples and metrics of a config after fixed wall-clock training budgets.

    .venv/bin/python bench/quality_dcgan.py --config pipelines/mnist_dcgan.toml --minutes 2 5 10

Trains one run with the config (steps raised so the budget, not the step count, ends it), saves
the sampler at each budget mark, then evaluates every mark on the vendored MNIST with the evaluation
classifier and writes a sample grid per mark. Prints a markdown table and the command. This is a
benchmark, not a test: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from kgan.cpu import summary_line  # noqa: E402
from kgan.config import load_config  # noqa: E402
from kgan.data import load_arrays  # noqa: E402
from kgan.imageio import to_uint8, write_grid_png  # noqa: E402
from kgan.metrics import evaluate, format_table, train_classifier  # noqa: E402
from kgan.training import current_step, train  # noqa: E402


class BudgetMarks(keras.callbacks.Callback):
    """Saves the sampler's weights when each wall-clock mark passes; stops after the last."""

    def __init__(self, minutes: list[float], out: Path):
        super().__init__()
        self.marks = sorted(minutes)
        self.out = out
        self.saved: list[dict] = []

    def on_train_begin(self, logs=None):
        self.t0 = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        elapsed = time.perf_counter() - self.t0
        while self.marks and elapsed >= 60 * self.marks[0]:
            minutes = self.marks.pop(0)
            path = self.out / f"sampler_{minutes:g}min.weights.h5"
            self.model.sampler.save_weights(path)
            self.saved.append({"minutes": minutes, "step": current_step(self.model), "weights": str(path),
                               "seconds": round(elapsed, 1)})
            print(f"[bench] {minutes:g} min mark at step {current_step(self.model)}", file=sys.stderr, flush=True)
        if not self.marks:
            self.model.stop_training = True


def main() -> None:
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="pipelines/mnist_dcgan.toml")
    parser.add_argument("--minutes", type=float, nargs="+", default=[2, 5, 10])
    parser.add_argument("--out", default="artifacts/bench_quality")
    parser.add_argument("--n", type=int, default=10000, help="samples per evaluation")
    parser.add_argument("--classifier", help="reuse a trained evaluation classifier (.keras)")
    args = parser.parse_args()

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = load_config(args.config).replace(**{"train.steps": 10_000_000})
    images, labels = load_arrays(cfg.data.source, cfg.data.data_dir or None)
    classifier = args.classifier or str(train_classifier(images, labels, epochs=cfg.eval.classifier_epochs,
                                                         out_path=out / "classifier.keras", seed=cfg.seed))
    marks = BudgetMarks(args.minutes, out)
    run_dir = out / f"run-{int(time.time())}"
    gan = train(cfg, run_dir, callbacks=[marks], verbose=False)

    rows = []
    for mark in marks.saved:
        gan.sampler.load_weights(mark["weights"])
        z = np.random.default_rng(0).standard_normal((64, gan.latent_dim)).astype("float32")
        grid = out / f"samples_{mark['minutes']:g}min.png"
        write_grid_png(to_uint8(gan.generate(z)), grid, scale=2)
        report = evaluate(gan, images, f"classifier:{classifier}", metrics=cfg.eval.metrics, n=args.n,
                          seed=cfg.seed, progress=False)
        (out / f"report_{mark['minutes']:g}min.json").write_text(json.dumps(report, indent=2))
        print(f"\n== after {mark['minutes']:g} min (step {mark['step']}) ==\n{format_table(report)}")
        m = report["metrics"]
        rows.append((mark, m["fid"]["value"], m["is"]["mean"], m["pr"]["precision"], m["pr"]["recall"],
                     m["coverage"]["coverage"], grid))
    ref = report["reference_points"]
    print(f"\ncommand: {' '.join([sys.executable, *sys.argv])}")
    print(f"config: {args.config}; classifier features; {args.n} samples vs the 10,000 vendored digits\n")
    print("| budget | steps | FID | IS | precision | recall | class coverage | samples |")
    print("|---|---|---|---|---|---|---|---|")
    for mark, fid, is_, p, r, cov, grid in rows:
        print(f"| {mark['minutes']:g} min | {mark['step']} | {fid:.3f} | {is_:.2f} | {p:.3f} | {r:.3f} | {cov:.2f} | "
              f"{grid} |")
    for name in ("real_vs_real", "pixel_gaussian"):
        m = ref[name]["metrics"]
        print(f"| {name.replace('_', ' ')} | - | {m['fid']['value']:.3f} | {m['is']['mean']:.2f} | "
              f"{m['pr']['precision']:.3f} | {m['pr']['recall']:.3f} | {m['coverage']['coverage']:.2f} | - |")


if __name__ == "__main__":
    main()
