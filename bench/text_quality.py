"""Text-to-image on MNIST at equal CPU time: text_gan (GAN-CLS + GAN-INT) against the class-conditional GAN.

Both models train on the training split of `pipelines/mnist_text.toml` (captions generated from each digit's
measured thickness, slant and size; held-out (digit, attribute) combinations never phrased) until the process
has used `--minutes` of CPU time (time.process_time, all threads: a busy machine slows the run but does not
change the budget), in chunks of `--chunk` steps. The class-conditional GAN is the pipeline's
`eval.baselines = ["cgan"]` (`kgan.models.registry.baseline_config`: the same nets conditioned on the digit the
caption names, a plain conditional discriminator). Both are scored by `kgan.metrics.evaluate` on the captions of
the held-out digits: the classifier's accuracy on the digit each caption names, the agreement of the measured
attribute bins with the requested ones (`caption_consistency`), the same on held-out combinations
(`held_out_captions`), FID of all samples; and the Spearman correlation between the mix and the measured
thickness along "a thin D" -> "a thick D" interpolations (every digit D, `--walks` latent draws each).
The "captioned real" row scores the held-out real digits with their own captions.

Usage:  python bench/text_quality.py [--minutes 2.5] [--n 1000] [--classifier-epochs 2] [--limit 0]
        [--models text_gan,cgan] [--out artifacts/bench_text]
Writes each model's caption rows and interpolation rows to --out.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from budget import train_config
from held_out import Table, evaluation_extractor, shipped_config
from kgan.cpu import summary_line

METRICS = "fid,caption_consistency,held_out_captions"
COLUMNS = [("caption_consistency", "digit_accuracy", "digit acc."),
           ("caption_consistency", "attribute_agreement", "attr. agreement"),
           ("held_out_captions", "digit_accuracy", "held-out digit acc."),
           ("held_out_captions", "attribute_agreement", "held-out attr. agreement"),
           ("interpolation", "spearman", "thin->thick Spearman"), ("fid", "value", "FID")]
TABLE = Table(COLUMNS)
STEPS = 8


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=2.5, help="CPU minutes of training per model (process time)")
    p.add_argument("--n", type=int, default=1000, help="held-out captions scored (at most the held-out split)")
    p.add_argument("--walks", type=int, default=8, help="latent draws per digit of the thin -> thick walks")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="use only the first N MNIST images (0 = all)")
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--models", default="text_gan,cgan", help="which of text_gan, cgan to train (comma list)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_text", help="where the sample grids go")
    return p.parse_args()


def thickness_walks(model, walks: int, seed: int):
    """(Spearman correlation of mix vs measured thickness over every walk, uint8 images [10 * walks * STEPS])."""
    import numpy as np
    from scipy.stats import spearmanr

    from kgan.data import attributes, captions
    from kgan.imageio import to_uint8
    from kgan.models import surface

    direction = surface.interpolation(surface.directions(model))
    rows = 10 * walks
    z = surface.fixed_inputs([s for s in direction.inputs if s.draw == "normal"], rows, seed)
    digits = np.repeat(np.arange(10), walks)
    inputs = surface.interpolation_inputs(direction.inputs, z, [f"a thin {captions.DIGITS[d]}" for d in digits],
                                          [f"a thick {captions.DIGITS[d]}" for d in digits], STEPS)
    images = to_uint8(np.asarray(surface.call_network(direction.network, inputs)))
    rho = spearmanr(inputs[surface.MIX], attributes.thickness(images)).statistic
    return float(0.0 if np.isnan(rho) else rho), images


def score(model, cfg, extractor, n: int, walks: int, seed: int):
    from kgan.data.features import feature_arrays, feature_batches
    from kgan.imageio import to_uint8
    from kgan.metrics import evaluate

    held = feature_arrays(cfg.data, n, seed=seed, split="holdout")
    count = len(held["image"])
    batch = min(250, count)
    report = evaluate(model, to_uint8(held["image"]), extractor, metrics=METRICS, n=count, seed=seed,
                      batch_size=batch, data=feature_batches(cfg.data, batch, seed=seed, split="holdout"),
                      progress=False)
    rho, walk_images = thickness_walks(model, walks, seed)
    report["metrics"]["interpolation"] = {"spearman": rho, "walks": 10 * walks, "steps": STEPS}
    return report, walk_images


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    from kgan.imageio import write_grid_png
    from kgan.io import write_json
    from kgan.models.registry import baseline_config

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cfg = shipped_config("mnist_text", args.seed, args.limit)
    extractor = evaluation_extractor(args.classifier_epochs, args.seed, args.limit)
    lines, reports = [TABLE.header], {}
    captioned = None
    models = {"text_gan": ("text_gan (GAN-CLS + GAN-INT)", cfg),
              "cgan": ("class-conditional GAN (cgan baseline)", baseline_config(cfg, "cgan")[1])}
    for label, run_cfg in (models[name] for name in args.models.split(",")):
        model, steps, cpu = train_config(run_cfg, args.minutes, args.chunk)
        report, walks = score(model, run_cfg, extractor, args.n, args.walks, args.seed)
        reports[label] = report
        lines.append(TABLE.row("MNIST captions", label, steps, cpu, report["metrics"]))
        captioned = report["reference_points"]["captioned_real"]["metrics"]
        name = label.split(" ")[0]
        first_walks = walks.reshape(10, args.walks, STEPS, *walks.shape[1:])[:, 0]  # one walk per digit
        write_grid_png(first_walks.reshape(-1, *walks.shape[1:]), out / f"{name}_thin_to_thick.png", cols=STEPS,
                       scale=2)
        print(lines[-1], flush=True)
    lines.append(TABLE.row("MNIST captions", "captioned real (held-out digits, own captions)", None, None, captioned))
    write_json(out / "report.json", {"command": " ".join(map(shlex.quote, sys.argv)), "reports": reports})
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
