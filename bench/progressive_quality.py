"""Progressive growing vs fixed resolution on MNIST 32x32 at equal CPU minutes: FID, IS, precision/recall.

Each model is a shipped `pipelines/mnist_<name>.toml` (progan, stylegan at fixed resolution, stylegan_progressive:
StyleGAN grown like ProGAN, dcgan; a name whose config is missing is skipped with a note), set to the vendored MNIST
digits padded to 32x32, and trained for the same process CPU time (`budget.train_config`: every phase ends at its
cumulative share of the budget, a growing model's phases at their resolutions, fade phases re-planned from their
measured step time). Scored with `kgan.metrics.evaluate` on `--samples` samples of the (EMA) generator against the
10,000 digits, in the features of a classifier trained on them (padded to 32x32): FID, IS, precision/recall, plus
those of `EXTRA_METRICS` the config's `eval.metrics` lists (SWD and MS-SSIM for progan, PPL in Z and W for the
stylegans). A model that grows also
gets ProGAN's table 1 per resolution (`kgan.stages`: SWD per Laplacian-pyramid level and MS-SSIM among samples, at
the end of each resolution) and a grid of the same z at every resolution; a model that declares style mixing its
style-mixing grid and truncation sweep (`style_figures`). Prints markdown tables and the command.

Usage:  python bench/progressive_quality.py [--models progan,stylegan,stylegan_progressive,dcgan] [--minutes 3] [--samples 2000]
        [--classifier-epochs 3] [--chunk 25] [--seed 0] [--out /tmp/kgan-bench-progressive]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from budget import train_config  # noqa: E402
from held_out import shipped_config  # noqa: E402
from style_figures import mixing_figure, truncation_figure  # noqa: E402
from kgan.cpu import summary_line  # noqa: E402
from kgan.training import current_step  # noqa: E402

RESOLUTION = 32
#: metrics a model is also scored with when its config's `eval.metrics` lists them (progan: SWD and MS-SSIM; the
#: stylegans: PPL in Z and in W), besides FID, IS and precision/recall
EXTRA_METRICS = ("swd", "ms_ssim", "ppl", "ppl_w")
#: headline numbers of the table: (metric, result key, column title)
COLUMNS = [("fid", "value", "FID"), ("is", "mean", "IS"), ("pr", "precision", "precision"),
           ("pr", "recall", "recall"), ("swd", "mean", "SWD x1e3"), ("ms_ssim", "mean", "MS-SSIM"),
           ("ppl", "mean", "PPL(Z)"), ("ppl_w", "mean", "PPL(W)")]


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="progan,stylegan,stylegan_progressive,dcgan",
                   help="names NAME of pipelines/mnist_NAME.toml")
    p.add_argument("--minutes", type=float, default=3.0, help="process CPU minutes of training per model")
    p.add_argument("--samples", type=int, default=2000, help="samples per evaluation")
    p.add_argument("--stage-samples", type=int, default=1000, help="samples per resolution for the table-1 rows")
    p.add_argument("--classifier-epochs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="/tmp/kgan-bench-progressive", help="sample grids and reports")
    return p.parse_args()


def padded_mnist():
    """The vendored digits, centre-padded to 32x32 as `data.resize = "pad"` does."""
    import numpy as np

    from kgan.data import load_arrays

    images, labels = load_arrays("mnist")
    pad = (RESOLUTION - images.shape[1]) // 2
    return np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0))), labels


def config_for(name: str, seed: int):
    """`pipelines/mnist_<name>.toml` at 32x32 (padded), or None when it is not shipped."""
    path = Path(__file__).resolve().parent.parent / "pipelines" / f"mnist_{name}.toml"
    if not path.is_file():
        return None
    return shipped_config(f"mnist_{name}", seed).replace(**{"data.resolution": RESOLUTION, "data.resize": "pad"})


def growth_records(cfg, out: Path, seed: int, stage_samples: int):
    """(after_phase, write, table): a `train_config` callback that, at the end of each resolution of a growing
    model, keeps the same 8 inputs served at the final size and the resolution's table-1 row (`table`); `write(name)`
    writes the kept images as one grid, a row per resolution (None for a model that does not grow)."""
    import numpy as np

    from kgan import phases, stages
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.models import surface

    ends = stages.resolution_ends(phases.plan(cfg))
    rows, table = [], []

    def after_phase(model, phase):
        if phase.end not in ends:
            return
        r = ends[phase.end]
        inputs = surface.fixed_inputs(model.inference_inputs(), 8, seed)
        rows.append(to_uint8(np.asarray(model.infer(inputs))))
        table.append({"step": current_step(model), **stages.stage_metrics(model, cfg.data, r, stage_samples,
                                                                                   seed)})
        print(f"  {r}x{r} done at step {table[-1]['step']}: SWD mean {table[-1]['swd']['mean']:.1f}, "
              f"MS-SSIM {table[-1]['ms_ssim']:.4f}", flush=True)

    def write(name):
        if rows:
            return write_grid_png(np.concatenate(rows), out / f"{name}_growth.png", cols=8, scale=2)

    return after_phase, write, table


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np

    from kgan import stages
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.metrics import ClassifierExtractor, evaluate, train_classifier
    from kgan.models import surface

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    images, labels = padded_mnist()
    extractor = ClassifierExtractor(train_classifier(images, labels, args.classifier_epochs, out / "classifier.keras",
                                                     seed=args.seed))
    print(f"classifier (32x32 padded digits): holdout accuracy {extractor.info.get('holdout_accuracy'):.4f}",
          flush=True)
    results, skipped = [], []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        cfg = config_for(name, args.seed)
        if cfg is None:
            note = f"{name}: skipped, pipelines/mnist_{name}.toml is not shipped in this checkout"
            print(note, flush=True)
            skipped.append(note)
            continue
        print(f"{name}: training {args.minutes:g} CPU min ({len(cfg.train.phases) or 1} phase(s))", flush=True)
        after_phase, write_growth, table = growth_records(cfg, out, args.seed, args.stage_samples)
        model, steps, cpu = train_config(cfg, args.minutes, args.chunk, after_phase=after_phase)
        metrics = ["fid", "is", "pr"] + [m for m in EXTRA_METRICS if m in cfg.eval.metrics]
        report = evaluate(model, images, extractor, metrics=metrics, n=args.samples, seed=args.seed, progress=False)
        report["resolutions"] = table
        (out / f"{name}_report.json").write_text(json.dumps(report, indent=2))
        grid = write_grid_png(to_uint8(np.asarray(model.infer(surface.fixed_inputs(model.inference_inputs(), 64,
                                                                                     args.seed)))),
                              out / f"{name}_samples.png", cols=8, scale=2)
        print(f"  {steps} steps in {cpu:.2f} CPU min; samples {grid}; growth {write_growth(name)}", flush=True)
        if surface.style_mixing(model) is not None:
            print(f"  style mixing {mixing_figure(model, out / f'{name}_mixing.png', seed=args.seed)}; truncation "
                  f"{truncation_figure(model, out / f'{name}_truncation.png', seed=args.seed)}", flush=True)
        results.append((name, steps, cpu, report))

    columns = [c for c in COLUMNS if any(c[0] in r[3]["metrics"] for r in results)]
    print(f"\n{args.samples} samples vs the 10,000 vendored digits (padded to 32x32), classifier features; "
          f"{args.minutes:g} CPU minutes of training each\n")
    print("| model | steps | CPU min | " + " | ".join(t for _, _, t in columns) + " |")
    print("|---|---:|---:|" + "---:|" * len(columns))
    for name, steps, cpu, report in results:
        m = report["metrics"]
        cells = [f"{m[k][key]:.4g}" if k in m and key in m[k] else "-" for k, key, _ in columns]
        print(f"| {name} | {steps} | {cpu:.2f} | " + " | ".join(cells) + " |")
    if results:
        ref = results[0][3]["reference_points"]["real_vs_real"]["metrics"]
        cells = [f"{ref[k][key]:.4g}" if k in ref and key in ref[k] else "-" for k, key, _ in columns]
        print("| real vs real | - | - | " + " | ".join(cells) + " |")
    for name, _, _, report in results:
        if report["resolutions"]:
            print(f"\n{name} per resolution (Karras et al. 2018, table 1: SWD x1e3 per Laplacian-pyramid level, "
                  f"MS-SSIM among {args.stage_samples} samples)\n")
            print(stages.markdown(report["resolutions"]))
    for note in skipped:
        print(f"\nnote: {note}")
    print("\ncommand: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
