"""Paired metrics for image-to-image models (pix2pix, super-resolution): each output is scored
against its own target. Inputs are uint8 NHWC arrays of one shape; every value is a mean over
images (with its std), so a few failed images show up in the std rather than vanishing.

- `l1`: mean absolute error in [0, 1] units (uint8 / 255): 0 = exact, 1 = black for white.
  (Papers that train on [-1, 1] report twice this number.)
- `psnr`: 10 log10(255^2 / MSE) per image in dB, data range 255; an exact image counts as
  `max_db` (100 dB) so that the mean stays finite.
- `ssim`: single-scale SSIM per image with the Gaussian filter `ms_ssim` uses at that size
  (11 px, sigma 1.5 from 176 px, else 7 px, sigma 1.0), data range 255.
- `ms_ssim_pairs`: multi-scale SSIM per image against its target, with the scales, weights and filter
  `ms_ssim` uses at that size (3 scales at 28 px), data range 255.
"""

from __future__ import annotations

import numpy as np

from kgan.metrics.ms_ssim import ms_ssim_settings
from kgan.metrics.registry import Headline, Metric, register


def _summary(values: np.ndarray, **extra) -> dict:
    return {"mean": float(values.mean()), "std": float(values.std()),
            "num_images": int(len(values)), **extra}


def _errors(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-pixel output - target as float64, flattened per image."""
    return (np.asarray(outputs, np.float64) - np.asarray(targets, np.float64)).reshape(
        len(outputs), -1)


def l1(outputs: np.ndarray, targets: np.ndarray) -> dict:
    return _summary(np.abs(_errors(outputs, targets)).mean(axis=1) / 255.0, units="[0, 1]")


def psnr(outputs: np.ndarray, targets: np.ndarray, max_db: float = 100.0) -> dict:
    mse = (_errors(outputs, targets) ** 2).mean(axis=1)
    with np.errstate(divide="ignore"):
        db = np.minimum(10 * np.log10(255.0 ** 2 / mse), max_db)
    return _summary(db, data_range=255, max_db=max_db)


def _per_image(score, outputs: np.ndarray, targets: np.ndarray, batch_size: int, bar) -> np.ndarray:
    """`score(a, b)` of float32 image batches, per image, over all pairs in batches."""
    import tensorflow as tf

    values = []
    for s in range(0, len(outputs), batch_size):
        a = tf.constant(outputs[s:s + batch_size], tf.float32)
        values.append(score(a, tf.constant(targets[s:s + batch_size], tf.float32)).numpy())
        if bar:
            bar.update(len(a))
    return np.concatenate(values).astype(np.float64)


def ssim(outputs: np.ndarray, targets: np.ndarray, batch_size: int = 250, bar=None) -> dict:
    """`bar`: an optional `kgan.progress.Progress` over the images."""
    import tensorflow as tf

    settings = ms_ssim_settings(*outputs.shape[1:3])
    values = _per_image(lambda a, b: tf.image.ssim(a, b, max_val=255.0, filter_size=settings["filter_size"],
                                                   filter_sigma=settings["filter_sigma"]),
                        outputs, targets, batch_size, bar)
    return _summary(values, data_range=255, filter_size=settings["filter_size"],
                    filter_sigma=settings["filter_sigma"])


def ms_ssim_pairs(outputs: np.ndarray, targets: np.ndarray, batch_size: int = 250, bar=None) -> dict:
    """`bar`: an optional `kgan.progress.Progress` over the images."""
    import tensorflow as tf

    settings = ms_ssim_settings(*outputs.shape[1:3])
    values = _per_image(lambda a, b: tf.image.ssim_multiscale(a, b, max_val=255.0, **settings),
                        outputs, targets, batch_size, bar)
    return _summary(values, data_range=255, filter_size=settings["filter_size"],
                    filter_sigma=settings["filter_sigma"], power_factors=list(settings["power_factors"]))


register(Metric("l1", {"paired"}, lambda x: l1(*x.pairs), [Headline("mean", "L1 [0,1]")],
                "lower", "mean absolute error of outputs against their targets, pixels / 255"))
register(Metric("psnr", {"paired"}, lambda x, **kw: psnr(*x.pairs, **kw),
                [Headline("mean", "PSNR dB")], "higher",
                "peak signal-to-noise ratio of outputs against their targets (range 255)"))
register(Metric("ssim", {"paired"},
                lambda x, **kw: ssim(*x.pairs, bar=x.bar("SSIM", len(x.pairs[0]), "img"), **kw),
                [Headline("mean", "SSIM")], "higher",
                "single-scale structural similarity of outputs against their targets"))
register(Metric("ms_ssim_pairs", {"paired"},
                lambda x, **kw: ms_ssim_pairs(*x.pairs, bar=x.bar("MS-SSIM", len(x.pairs[0]), "img"), **kw),
                [Headline("mean", "MS-SSIM pairs")], "higher",
                "multi-scale structural similarity of outputs against their targets"))
