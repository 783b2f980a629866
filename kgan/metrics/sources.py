"""Where samples come from: arrays, iterables of batches, `kgan.data` sources, or a generator.

Everything is turned into an iterator of uint8 NHWC batches. Generated float images in [-1, 1]
are quantized exactly like stored real images (`kgan.imageio.to_uint8`), so neither side gets a precision
advantage in feature space.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from kgan.errors import CheckpointError, DataError
from kgan.imageio import to_uint8


@dataclass
class Generator:
    """A generative model for metrics: `fn(z)` or `fn(z, labels)` -> float NHWC in [-1, 1]."""

    fn: Callable
    latent_dim: int
    num_classes: int = 0

    def sample_latents(self, rng: np.random.Generator, n: int):
        z = rng.standard_normal((n, self.latent_dim)).astype(np.float32)
        labels = rng.integers(0, self.num_classes, n).astype(np.int32) if self.num_classes else None
        return z, labels

    def images(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        out = self.fn(z) if labels is None else self.fn(z, labels)
        return np.asarray(out, np.float32)

    def batches(self, n: int, batch_size: int, seed: int = 0) -> Iterator[np.ndarray]:
        rng = np.random.default_rng(seed)
        for start in range(0, n, batch_size):
            z, labels = self.sample_latents(rng, min(batch_size, n - start))
            yield to_uint8(self.images(z, labels))


def from_gan(gan) -> Generator:
    """Wrap the model surface of DESIGN.md (`generate`, `latent_dim`, `num_classes`)."""
    return Generator(lambda z, labels=None: gan.generate(z, labels), int(gan.latent_dim),
                     int(getattr(gan, "num_classes", 0) or 0))


def generator_from_path(path: str | Path) -> Generator:
    """A TF Serving export (`saved_model.pb`: `serving_default`, `z` -> `images_float`) or a
    run directory (`kgan.training.load_run`)."""
    import tensorflow as tf

    path = Path(path)
    if (path / "saved_model.pb").exists():
        sig = tf.saved_model.load(str(path)).signatures.get("serving_default")
        if sig is None:
            raise CheckpointError(f"{path}: SavedModel has no 'serving_default' signature")
        spec = sig.structured_input_signature[1]
        if "z" not in spec or "images_float" not in sig.structured_outputs:
            raise CheckpointError(f"{path}: serving_default must take 'z' and return "
                                  f"'images_float' (has {sorted(spec)} -> "
                                  f"{sorted(sig.structured_outputs)})")
        return _export_generator(path, sig, spec)
    if path.is_dir():
        from kgan.training import load_run  # late: heavy, and owned by the training module

        _, gan, _ = load_run(path)
        return from_gan(gan)
    raise CheckpointError(f"{path}: neither a SavedModel export nor a run directory")


def _export_generator(path: Path, sig, spec) -> Generator:
    """Any SavedModel with `z` -> `images_float`; labels and InfoGAN codes need kgan's export metadata."""
    from kgan.errors import ExportError
    from kgan.export import read_metadata, serving_inputs

    try:
        meta = read_metadata(path)
    except ExportError:
        if set(spec) - {"z"}:
            raise CheckpointError(f"{path}: serving_default takes {sorted(spec)}, but without kgan's "
                                  "assets/kgan_metadata.json the class count and code sizes are unknown") from None
        meta = {}
    rng = np.random.default_rng(0)
    return Generator(lambda z, labels=None: sig(**serving_inputs(spec, meta, z, labels, rng))["images_float"].numpy(),
                     int(spec["z"].shape[-1]), int(meta.get("num_classes", 0)))


def source_batches(source: str, n: int, batch_size: int,
                   data_dir: str | None = None) -> Iterator[np.ndarray]:
    """Stream the first `n` images of a `kgan.data` source (npz:, folder:, ...)."""
    from kgan.data import load_source

    ds = load_source(source, data_dir).take(n).batch(batch_size)
    seen = 0
    for images, _ in ds.as_numpy_iterator():
        seen += len(images)
        yield images
    if seen < n:
        raise DataError(f"{source}: has {seen} images, fewer than the requested n={n}")


def as_batches(samples, n: int, batch_size: int, seed: int = 0,
               data_dir: str | None = None) -> Iterator[np.ndarray]:
    """uint8 batches from an array, a `kgan.data` source string, a `Generator`, a callable
    `g(z)` with a `latent_dim` attribute, or any iterable of batches (re-chunked, checked for n)."""
    if isinstance(samples, str):
        return source_batches(samples, n, batch_size, data_dir)
    if isinstance(samples, np.ndarray):
        if len(samples) < n:
            raise DataError(f"samples: {len(samples)} images, fewer than the requested n={n}")
        return (samples[i:min(i + batch_size, n)] for i in range(0, n, batch_size))
    if isinstance(samples, Generator) or callable(samples):
        return as_generator(samples).batches(n, batch_size, seed)
    return _rechunk(samples, n, batch_size)


def as_generator(obj) -> Generator:
    """A `Generator`, a GAN (`generate`), or a callable with a `latent_dim` attribute."""
    if isinstance(obj, Generator):
        return obj
    if hasattr(obj, "generate") and hasattr(obj, "latent_dim"):
        return from_gan(obj)
    if callable(obj) and hasattr(obj, "latent_dim"):
        return Generator(obj, int(obj.latent_dim), int(getattr(obj, "num_classes", 0) or 0))
    raise DataError("a generator must be a kgan GAN, a kgan.metrics.Generator(fn, latent_dim) "
                    "or a callable with a `latent_dim` attribute")


def _rechunk(batches: Iterable[np.ndarray], n: int, batch_size: int) -> Iterator[np.ndarray]:
    seen = 0
    for batch in batches:
        batch = np.asarray(batch)
        if batch.dtype != np.uint8:
            raise DataError(f"sample batches must be uint8 NHWC, got {batch.dtype}; "
                            "use kgan.imageio.to_uint8 on [-1, 1] floats")
        batch = batch[: n - seen]
        for i in range(0, len(batch), batch_size):
            yield batch[i:i + batch_size]
        seen += len(batch)
        if seen >= n:
            return
    raise DataError(f"samples: the iterable ended after {seen} images, fewer than n={n}")
