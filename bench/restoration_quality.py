"""Restoration on MNIST at equal CPU time: x4 super-resolution (SRGAN/EPSR at several adversarial weights
against the pixel-only generator and bicubic upsampling) and deblurring (DeblurGAN against pixel-only and the
Wiener filter).

Each model trains on the training split of the vendored MNIST (`data.holdout` of the shipped configs
`pipelines/mnist_sr4.toml` and `mnist_deblur.toml`) until the process has used `--minutes` of CPU time
(time.process_time, all threads: a busy machine slows the run but does not change the budget), in chunks of
`--chunk` steps (`bench/budget.py`). The models are the pipeline's: `pixel_only` and `adversarial_weight:W` are
its `eval.baselines` (`kgan.models.registry.baseline_config`). A config's phases get the same share of the
budget as of its `train.steps` (mnist_sr4: the first third pixel-only pretraining, then the GAN phase), through
the phases mechanism the trainer uses (`kgan.training.enter_phase`).
All models are scored by `kgan.metrics.evaluate` on the same held-out pairs: FID of outputs against the
held-out targets in the evaluation classifier's features, the classifier's accuracy on the outputs
(`output_accuracy`), L1, PSNR, SSIM, MS-SSIM, and the reference points: the identity (the input scored as the
output: the nearest-neighbour upsampled or the blurred digit), the data's classical inverse (bicubic upsampling,
Wiener deconvolution with the true kernel) and real targets (real vs real). The evaluation classifier is trained
with seed `--seed + 1`; the losses' perceptual network is the shipped configs' `random:4` (a fixed random CNN
seeded by the experiment seed, not a classifier), and a config whose loss reads a classifier file is refused
when it is the evaluation classifier (`registry.check_evaluation_network`).

Usage:  python bench/restoration_quality.py [--minutes 5] [--n 1000] [--classifier-epochs 2] [--limit 0]
        [--weights 0.001,0.01,0.1] [--out artifacts/bench_restoration]
Writes to --out: results.json, one grid per model (rows of input | output | target) and one
perception-distortion plot per task (`kgan.gallery.perception_distortion`, the gallery's plot).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from budget import train_config
from held_out import Table, evaluation_extractor, score, shipped_config, write_grid
from kgan.cpu import summary_line

METRICS = "fid,output_accuracy,l1,psnr,ssim,ms_ssim_pairs"
COLUMNS = [("fid", "value", "FID"), ("output_accuracy", "accuracy", "accuracy"), ("l1", "mean", "L1"),
           ("psnr", "mean", "PSNR dB"), ("ssim", "mean", "SSIM"), ("ms_ssim_pairs", "mean", "MS-SSIM")]
TABLE = Table(COLUMNS)
#: reference points printed (and plotted) beside the models: the ones a restoration model should beat
SHOWN_POINTS = {"identity": "identity (input)", "bicubic": "bicubic", "wiener": "wiener (true kernel)"}


def weights_list(text: str) -> list[float]:
    try:
        weights = [float(w) for w in text.split(",") if w.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not weights or any(not w > 0 for w in weights):
        raise argparse.ArgumentTypeError(f"expected adversarial weights > 0, got {text!r}")
    return weights


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=5.0, help="CPU minutes of training per model (process time)")
    p.add_argument("--n", type=int, default=1000, help="held-out pairs scored (at most the held-out split)")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--weights", type=weights_list, default=[1e-3, 1e-2, 1e-1],
                   help="adversarial weights of the SRGAN runs (mnist_sr4.toml's own: 1e-3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_restoration", help="where results, grids and plots go")
    return p.parse_args()


def runs(sr, deblur, weights):
    """(task, label, config) of every model trained, the pipeline's baselines by their `eval.baselines` names."""
    from kgan.models.registry import baseline_config

    def variant(cfg, name):
        return baseline_config(cfg, name)[1]

    out = [("SR x4", "pixel_only", variant(sr, "pixel_only"))]
    out += [("SR x4", f"srgan adv={w:g}", variant(sr, f"adversarial_weight:{w!r}")) for w in weights]
    out += [("deblur", "pixel_only", variant(deblur, "pixel_only")), ("deblur", "deblurgan", deblur)]
    return out


def plot_task(task: str, reports: dict, out: Path) -> Path | None:
    """The perception-distortion plot of one task's models (the first GAN highlighted: `--weights` starts with
    the shipped 1e-3), the classical inverse and the identity, drawn by the gallery's function."""
    from kgan.gallery import perception_distortion

    if not reports:
        return None
    main = next((label for label in reports if label != "pixel_only"), next(iter(reports)))
    first = next(iter(reports.values()))
    points = {key: first["reference_points"][key] for key in SHOWN_POINTS if key in first["reference_points"]}
    points.update({label: {"metrics": r["metrics"]} for label, r in reports.items() if label != main})
    combined = {"metrics": reports[main]["metrics"], "reference_points": points}
    path = out / f"{task.split()[0].lower()}{perception_distortion.SUFFIX}"
    perception_distortion.plot(combined, path, label=main)
    return path


def main():
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    args = parse()
    from kgan.io import write_json
    from kgan.models.registry import check_evaluation_network

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sr = shipped_config("mnist_sr4", args.seed, args.limit)
    deblur = shipped_config("mnist_deblur", args.seed, args.limit)
    planned = runs(sr, deblur, args.weights)

    extractor = evaluation_extractor(args.classifier_epochs, args.seed + 1, args.limit)
    for _, _, cfg in planned:
        check_evaluation_network(cfg, extractor.path)
    print(f"evaluation classifier: seed {args.seed + 1}, held-out accuracy "
          f"{extractor.info.get('holdout_accuracy'):.4f}; the losses' perceptual networks: "
          f"{sorted({cfg.model.options.get('perceptual', 'default') for _, _, cfg in planned})}", flush=True)

    rows, reports, plots = [], {}, {}
    for task, label, cfg in planned:
        model, steps, cpu = train_config(cfg, args.minutes, args.chunk)
        report, held = score(model, cfg, extractor, METRICS, args.n, args.seed)
        n = len(held["target"])
        reports.setdefault(task, {})[label] = report
        points = report["reference_points"]
        print(f"{task} / {label}: {steps} steps, {cpu:.2f} CPU min, {n} held-out pairs", flush=True)
        new = [(task, label, steps, cpu, report["metrics"])]
        if len(reports[task]) == 1:  # the data's reference points, once per task
            new += [(task, text, 0, 0.0, points[key]["metrics"]) for key, text in SHOWN_POINTS.items()
                    if key in points]
            new += [(task, "real targets", 0, 0.0, points["real_vs_real"]["metrics"])]
        for row in new:  # printed as they come: a run cut short keeps what it measured
            print(TABLE.row(*row), flush=True)
        rows += new
        grid = write_grid(model, held, out / f"{cfg.name}.png")
        print(f"  grid (input | output | target, two per row): {grid}", flush=True)
        plots[task] = str(plot_task(task, reports[task], out))
        write_json(out / "results.json", {
            "rows": [dict(zip(("task", "model", "steps", "cpu_minutes", "metrics"), r)) for r in rows],
            "perception_distortion": plots, "minutes": args.minutes, "n": args.n, "limit": args.limit,
            "classifier_seed": args.seed + 1})

    print()
    print(TABLE.header)
    for row in rows:
        print(TABLE.row(*row))
    print("\nFID: outputs vs held-out targets in the evaluation classifier's features (real targets: two halves "
          "of them); accuracy: the classifier's on the outputs against the digits' labels; identity: the input "
          "scored as the output; bicubic / wiener: the degradation's classical inverse scored as the output.")
    for task, path in plots.items():
        print(f"perception-distortion plot ({task}): {path}")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
