"""Autoencoders with a prior on MNIST at equal CPU time: AE and VAE (reference points) against AAE, WAE-GAN and
WAE-MMD, all with the same encoder/decoder builders.

The shipped configs `pipelines/mnist_aae.toml`, `mnist_wae_gan.toml` and `mnist_wae_mmd.toml` (latent_dim 8, the
WAE paper's cost and lambda) give the three prior-matching models; `ae` and `vae` are their `eval.baselines`
(`kgan.models.registry.baseline_config` of the WAE-MMD config: the same nets and cost, no prior term, or the KL
of a Gaussian encoder). Each trains on the training split (`data.holdout` = 0.1 of the vendored MNIST) until the
process has used `--minutes` of CPU time (time.process_time: a busy machine slows the run but does not change the
budget), in chunks of `--chunk` steps. Every model is scored by `kgan.metrics.evaluate` on the held-out digits:
FID of `--n` prior samples (decode(z), z ~ N(0, I)) against the held-out images in the evaluation classifier's
features, MMD of the held-out codes to the prior (IMQ, the WAE-MMD estimator), reconstruction MSE on [0, 1]
pixels, the classifier's accuracy on the reconstructions and a linear probe's accuracy on the codes.

Usage:  python bench/autoencoder_quality.py [--minutes 2] [--n 1000] [--classifier-epochs 2]
        [--out artifacts/bench_autoencoders] [--image docs/images/autoencoder_quality.png]
Writes results.json and, with --image, one PNG: per model a row of 8 prior samples and 4 input | reconstruction
pairs.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from budget import train_config
from held_out import Table, evaluation_extractor, shipped_config
from kgan.cpu import summary_line

METRICS = "fid,prior_mmd,reconstruction_mse,reconstruction_accuracy,probe_accuracy"
COLUMNS = [("fid", "value", "FID (prior samples)"), ("prior_mmd", "value", "MMD to prior"),
           ("reconstruction_mse", "mean", "recon MSE"), ("reconstruction_accuracy", "accuracy", "recon accuracy"),
           ("probe_accuracy", "accuracy", "probe accuracy")]
TABLE = Table(COLUMNS)


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=2.0, help="CPU minutes of training per model (process time)")
    p.add_argument("--n", type=int, default=1000, help="prior samples for FID (held-out digits: at most 1000)")
    p.add_argument("--classifier-epochs", type=int, default=2)
    p.add_argument("--chunk", type=int, default=25, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="artifacts/bench_autoencoders", help="where results.json goes")
    p.add_argument("--image", default="", help="also write the samples | reconstructions PNG here")
    p.add_argument("--models", default="ae,vae,aae,wae_gan,wae_mmd", help="comma list: which of the five to run")
    return p.parse_args()


def experiments(seed: int) -> list:
    """(label, config) of the five models, the reference points first."""
    from kgan.models.registry import baseline_config

    wae_mmd = shipped_config("mnist_wae_mmd", seed)
    return [("ae", baseline_config(wae_mmd, "ae")[1]), ("vae", baseline_config(wae_mmd, "vae")[1]),
            ("aae", shipped_config("mnist_aae", seed)), ("wae_gan", shipped_config("mnist_wae_gan", seed)),
            ("wae_mmd", wae_mmd)]


def score(model, cfg, extractor, n: int, seed: int):
    """(report, held-out images float [-1, 1]): prior samples and held-out codes of `model`, see the module doc."""
    from kgan.data.features import feature_arrays, feature_batches
    from kgan.imageio import to_uint8
    from kgan.metrics import evaluate

    held = feature_arrays(cfg.data, 100000, seed=seed, split="holdout")["image"]
    n = min(n, len(held))
    data = feature_batches(cfg.data, 250, seed=seed, split="holdout")
    report = evaluate(model, to_uint8(held), extractor, metrics=METRICS, n=n, seed=seed, batch_size=250, data=data,
                      progress=False)
    return report, held


def strip(model, held, seed: int):
    """uint8 [16, H, W, C]: 8 prior samples, then 4 input | reconstruction pairs."""
    import numpy as np

    from kgan.imageio import to_uint8
    from kgan.metrics import from_gan

    generator = from_gan(model)
    samples = generator.images(np.random.default_rng(seed).standard_normal((8, generator.latent_dim)))
    inputs = held[:4]
    pairs = np.stack([inputs, generator.decode(generator.encode(inputs))], axis=1).reshape((-1,) + held.shape[1:])
    return to_uint8(np.concatenate([samples, pairs]))


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np

    from kgan.imageio import write_grid_png
    from kgan.io import write_json

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    extractor = evaluation_extractor(args.classifier_epochs, args.seed)
    print(f"classifier: held-out accuracy {extractor.info.get('holdout_accuracy'):.4f}", flush=True)
    rows, strips = [], []
    chosen = [(label, cfg) for label, cfg in experiments(args.seed) if label in args.models.split(",")]
    for label, cfg in chosen:
        model, steps, cpu = train_config(cfg, args.minutes, args.chunk)
        report, held = score(model, cfg, extractor, args.n, args.seed)
        print(f"{label}: {steps} steps, {cpu:.2f} CPU min, {report['num_samples']} prior samples, "
              f"{report['num_held_out']} held-out digits", flush=True)
        rows.append(("MNIST", label, steps, cpu, report["metrics"]))
        print(TABLE.row(*rows[-1]), flush=True)  # printed as they come: a run cut short keeps what it measured
        write_json(out / "results.json", [dict(zip(("task", "model", "steps", "cpu_minutes", "metrics"), r))
                                          for r in rows])
        strips.append(strip(model, held, args.seed))
    if args.image:
        grid = np.concatenate(strips)
        print(f"image (rows: {', '.join(label for label, _ in chosen)}; 8 prior samples | 4 input, "
              f"reconstruction pairs): {write_grid_png(grid, Path(args.image), cols=16, scale=1)}")
    print()
    print(TABLE.header)
    for row in rows:
        print(TABLE.row(*row))
    print("\nFID: prior samples vs the held-out digits in the evaluation classifier's features; MMD: held-out codes "
          "vs N(0, I) draws (IMQ, unbiased); recon MSE on [0, 1] pixels; recon accuracy: the classifier's on the "
          "reconstructions; probe: a linear classifier on the codes (half fit, half tested).")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
