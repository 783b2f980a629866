"""StyleGAN's figures and checks (importable by the other benchmarks), and stylegan measured alone.

- `mixing_figure(model, path)`: the style-mixing grid through the model's declared mixing direction: coarse styles
  from the sources A (left column), the rest from the sources B (top row).
- `truncation_figure(model, path)`: one row per latent, psi = 0 .. 1 left to right (the model's own truncation,
  w_avg + psi (w - w_avg) in W, through the declared surface).
- `noise_keeps_label(model, extractor)`: the seeds' "Stochastic Variation": a new noise seed at a fixed w should
  change details, not the digit. The fraction of resampled images whose predicted class is that of the first
  draw of the same w.
- As a script: the shipped `mnist_stylegan` config trained for `--minutes` of process CPU time
  (`budget.train_config`), then FID / IS (classifier features, vs the padded test digits), PPL in Z and in W
  (full paths) and the label check, with the two figures:

    PYTHONPATH=. .venv/bin/python bench/style_figures.py --minutes 3 --figures docs/images
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from kgan.cpu import summary_line

PSI = (0.0, 0.25, 0.5, 0.75, 1.0)


def _uint8(network, inputs) -> np.ndarray:
    from kgan.imageio import to_uint8
    from kgan.models import surface

    return to_uint8(np.asarray(surface.call_network(network, inputs)))


def mixing_figure(model, path, crossover_resolution: int = 8, seed: int = 0, sources: int = 5) -> Path:
    """The style-mixing grid: styles up to `crossover_resolution` from A, the finer ones from B."""
    from kgan.gallery.styles import crossovers, mixing_grid
    from kgan.imageio import write_grid_png
    from kgan.models import surface

    mixing = surface.style_mixing(model)
    (direction,) = [d for d in surface.directions(model) if d.name == mixing.direction]
    crossover = dict((r, c) for c, r in crossovers(mixing.layer_resolutions))[crossover_resolution]
    grid = mixing_grid(lambda inputs: _uint8(direction.network, inputs), mixing, direction.inputs, crossover, seed,
                       sources)
    return write_grid_png(grid, Path(path), cols=sources + 1, scale=2)


def truncation_figure(model, path, rows: int = 6, seed: int = 0) -> Path:
    """Rows: latents (with their noise seeds); columns: psi in PSI, through the declared inputs."""
    from kgan.imageio import to_uint8, write_grid_png
    from kgan.models import surface

    specs = model.inference_inputs()
    columns = [to_uint8(np.asarray(model.infer(surface.fixed_inputs(specs, rows, seed, truncation=psi))))
               for psi in PSI]
    grid = np.stack(columns, axis=1).reshape(-1, *columns[0].shape[1:])
    return write_grid_png(grid, Path(path), cols=len(PSI), scale=2)


def noise_keeps_label(model, extractor, latents: int = 200, draws: int = 8, seed: int = 0) -> dict:
    """Each latent rendered with `draws` noise seeds: how often a resampled image keeps the first draw's class,
    and the mean per-pixel std across the draws (uint8 levels: the noise does change pixels)."""
    from kgan.imageio import to_uint8
    from kgan.models import surface

    specs = model.inference_inputs()
    base = surface.fixed_inputs(specs, latents, seed)
    noise = [s.name for s in specs if s.draw == "seed"]
    inputs = {k: np.repeat(v, draws, axis=0) for k, v in base.items()}
    inputs.update(surface.draw_numpy([s for s in specs if s.name in noise], latents * draws,
                                     np.random.default_rng(seed + 1)))
    images = np.concatenate([to_uint8(np.asarray(model.infer({k: v[i:i + 400] for k, v in inputs.items()})))
                             for i in range(0, latents * draws, 400)])
    labels = np.argmax(extractor.probs(images.astype(np.float32)), axis=1).reshape(latents, draws)
    per_latent = images.reshape(latents, draws, -1).astype(np.float64)
    return {"kept": float((labels[:, 1:] == labels[:, :1]).mean()), "latents": latents, "draws": draws,
            "pixel_std": float(per_latent.std(axis=1).mean())}


def parse():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=3.0, help="CPU minutes of training (process time)")
    p.add_argument("--n", type=int, default=2000, help="samples for FID / IS")
    p.add_argument("--ppl", type=int, default=500, help="paths for each PPL")
    p.add_argument("--classifier-epochs", type=int, default=3)
    p.add_argument("--chunk", type=int, default=20, help="steps per fit call between budget checks")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--figures", default="/tmp/bench_style", help="where the two PNGs go")
    return p.parse_args()


def main():
    args = parse()
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import tempfile

    from budget import train_config
    from held_out import shipped_config

    from kgan.data.features import feature_arrays
    from kgan.imageio import to_uint8
    from kgan.metrics import ClassifierExtractor, evaluate, train_classifier

    cfg = shipped_config("mnist_stylegan", args.seed)
    train = feature_arrays(cfg.data, 10000, seed=args.seed, split="train")
    digits = to_uint8(train["image"])  # the padded 32x32 digits the model sees
    extractor = ClassifierExtractor(train_classifier(digits, train["label"], args.classifier_epochs,
                                                     Path(tempfile.mkdtemp()) / "clf.keras", seed=args.seed))
    print(f"classifier: held-out accuracy {extractor.info.get('holdout_accuracy'):.4f}", flush=True)
    model, steps, cpu = train_config(cfg, args.minutes, args.chunk)
    print(f"stylegan: {steps} steps, {cpu:.2f} CPU min", flush=True)
    figures = Path(args.figures)
    figures.mkdir(parents=True, exist_ok=True)
    print(f"figures: {mixing_figure(model, figures / 'stylegan_mixing.png', seed=args.seed)}, "
          f"{truncation_figure(model, figures / 'stylegan_truncation.png', seed=args.seed)}", flush=True)
    check = noise_keeps_label(model, extractor, seed=args.seed)
    print(f"noise resampling at fixed w: label kept {check['kept']:.4f} ({check['latents']} latents x "
          f"{check['draws']} noise seeds), per-pixel std across draws {check['pixel_std']:.2f} of 255", flush=True)
    options = {name: {"num_samples": args.ppl} for name in ("ppl", "ppl_w")}
    report = evaluate(model, digits, extractor, metrics="fid,is,ppl,ppl_w", n=args.n, seed=args.seed,
                      options=options, progress=False)
    m = report["metrics"]
    print("\n| model | steps | CPU min | FID | IS | PPL(Z) | PPL(W) | noise keeps label |\n|---|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| stylegan | {steps} | {cpu:.2f} | {m['fid']['value']:.4g} | {m['is']['mean']:.4g} | "
          f"{m['ppl']['mean']:.4g} | {m['ppl_w']['mean']:.4g} | {check['kept']:.4f} |")
    real = report["reference_points"]["real_vs_real"]["metrics"]
    print(f"| real vs real | - | - | {real['fid']['value']:.4g} | {real['is']['mean']:.4g} | - | - | - |")
    print("command: " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv]))


if __name__ == "__main__":
    main()
