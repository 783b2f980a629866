"""Per-resolution stages of a growing run (progressive growing): what the model was at the end of each resolution.

At the end of the last phase of every resolution (`resolution_ends`), training (`ResolutionStages`) writes
- `snapshots/resolution_RRRR.npz`: the fixed inputs' images (the same z at every resolution), served at the final
  size (the growing model upsamples its current output), with `step` and `resolution`;
- `reports/resolutions/RRRR.json`: ProGAN's table 1 at that resolution: SWD x1e3 per Laplacian-pyramid level (and
  their mean) between samples and the training data downscaled to the resolution, and MS-SSIM among samples (with
  the same among real images beside it: MS-SSIM is read against the data's own), on `eval.history_samples`
  images.
A run without several resolutions writes nothing. The gallery's growth section and `bench/progressive_quality.py`
read them back (`read_stages`, `table`). Only the declared surface is used: samples are the served images,
box-downsampled back to the stage's resolution (exact for a nearest-upsampled output).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import keras
import numpy as np

from kgan import io, phases
from kgan.imageio import to_uint8
from kgan.models import surface

CHUNK = 256


def snapshot_path(run_dir, resolution: int) -> Path:
    return Path(run_dir) / "snapshots" / f"resolution_{resolution:04d}.npz"


def report_path(run_dir, resolution: int) -> Path:
    return Path(run_dir) / "reports" / "resolutions" / f"{resolution:04d}.json"


def resolution_ends(plan: list[phases.Phase]) -> dict[int, int]:
    """{step: resolution} at the end of each resolution's last phase; {} unless the phases name several."""
    ends = {}
    for phase, following in zip(plan, plan[1:] + [None]):
        if phase.resolution is not None and (following is None or following.resolution != phase.resolution):
            ends[phase.end] = phase.resolution
    return ends if len(set(ends.values())) > 1 else {}


def real_images(data_cfg, resolution: int, n: int, seed: int) -> np.ndarray:
    """The first `n` training images (unshuffled) downscaled to `resolution` as the input pipeline does, uint8."""
    from kgan.data.features import feature_dataset

    unshuffled = dataclasses.replace(data_cfg, shuffle_buffer=0)
    rows, count = [], 0
    for batch in feature_dataset(unshuffled, seed=seed, repeat=False, resolution=resolution):
        rows.append(to_uint8(batch["image"].numpy()))
        count += len(rows[-1])
        if count >= n:
            break
    return np.concatenate(rows)[:n]


def samples_at(model, resolution: int, n: int, seed: int) -> np.ndarray:
    """`n` served images from seeded inputs, box-downsampled to `resolution`, uint8."""
    from kgan.nets.progressive import downsample

    specs = model.inference_inputs()
    inputs = surface.draw_numpy(specs, n, np.random.default_rng(seed))
    out = []
    for start in range(0, n, CHUNK):
        images = model.infer({k: v[start:start + CHUNK] for k, v in inputs.items()})
        out.append(to_uint8(np.asarray(downsample(images, images.shape[1] // resolution))))
    return np.concatenate(out)


def stage_metrics(model, data_cfg, resolution: int, n: int, seed: int) -> dict:
    """SWD (per pyramid level, x1e3) samples vs data and MS-SSIM among samples (and among real images) at
    `resolution`; patches and filters shrink to fit images smaller than 7 px."""
    from kgan.metrics.ms_ssim import ms_ssim
    from kgan.metrics.swd import swd

    real = real_images(data_cfg, resolution, n, seed)
    fake = samples_at(model, resolution, len(real), seed)
    pairs = 2 * len(real)
    return {"resolution": resolution, "num_images": len(real),
            "swd": swd(real, fake, nhood=min(7, resolution), seed=seed),
            "ms_ssim": ms_ssim(fake, pairs, seed=seed)["mean"], "ms_ssim_real": ms_ssim(real, pairs, seed=seed)["mean"]}


class ResolutionStages(keras.callbacks.Callback):
    """Writes each resolution's snapshot and table-1 row when its last phase ends (see the module docstring)."""

    def __init__(self, cfg, run_dir, fixed_inputs: dict):
        super().__init__()
        self.cfg, self.run_dir, self.fixed = cfg, Path(run_dir), fixed_inputs
        self.ends = resolution_ends(phases.plan(cfg))

    def on_train_end(self, logs=None):
        step = int(self.model.steps_done.numpy())
        if step in self.ends:
            self.record(self.ends[step], step)

    def record(self, resolution: int, step: int) -> None:
        specs = self.model.inference_inputs()
        images = to_uint8(self.model.infer({s.name: self.fixed[s.name] for s in specs}))
        with io.atomic_path(snapshot_path(self.run_dir, resolution)) as tmp:
            np.savez_compressed(tmp, images=images, step=step, resolution=resolution)
        if not all(s.drawable for s in specs):
            return
        n = self.cfg.eval.history_samples
        row = stage_metrics(self.model, self.cfg.data, resolution, n, self.cfg.seed)
        io.write_json(report_path(self.run_dir, resolution), {"step": step, **row})


def read_stages(run_dir) -> list[dict]:
    """The run's per-resolution rows, lowest resolution first (unreadable files are skipped)."""
    folder = Path(run_dir) / "reports" / "resolutions"
    rows = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            rows.append(json.loads(path.read_text()))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
    return sorted(rows, key=lambda r: r.get("resolution", 0))


def table(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of ProGAN's table 1 per resolution: SWD x1e3 at each Laplacian-pyramid level (a column per
    level size, finest first; empty where a resolution's pyramid has no such level), their mean, MS-SSIM of samples
    and of real images."""
    sizes = sorted({int(px) for r in rows for px in r["swd"]["levels"]}, reverse=True)
    headers = ["resolution", "step"] + [f"SWD {px}px" for px in sizes] + ["SWD mean", "MS-SSIM", "MS-SSIM real"]
    out = []
    for r in rows:
        levels = {int(px): v for px, v in r["swd"]["levels"].items()}
        out.append([f"{r['resolution']}x{r['resolution']}", str(r.get("step", ""))]
                   + [f"{levels[px]:.2f}" if px in levels else "" for px in sizes]
                   + [f"{r['swd']['mean']:.2f}", f"{r['ms_ssim']:.4f}", f"{r['ms_ssim_real']:.4f}"])
    return headers, out


def markdown(rows: list[dict]) -> str:
    headers, body = table(rows)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
