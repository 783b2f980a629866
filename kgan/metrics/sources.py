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

from kgan.errors import DataError
from kgan.imageio import to_uint8
from kgan.metrics import identity
from kgan.models import surface


@dataclass
class LatentSpace:
    """A model's intermediate latent space (`surface.IntermediateLatent`, StyleGAN's W) with both halves as
    functions: `mapping(source array) -> latent array`, `synthesis({latent name: array, other inputs}) -> float
    images in [-1, 1]`."""

    declaration: surface.IntermediateLatent
    mapping: Callable
    synthesis: Callable


@dataclass
class Generator:
    """A generative model for metrics: its declared inputs and `fn(inputs: dict)` -> float NHWC in [-1, 1].

    `batches` draws every input with `surface.draw_numpy` (categorical inputs uniformly at random, the
    class balance of a uniform prior). Inputs that come from data (image, text) are read from `data`: an
    iterator of feature dicts ({feature: array}, at least one batch of rows each; the first rows are used).
    """

    specs: list
    fn: Callable
    target_feature: str | None = None  # the data feature an output should match (paired metrics)
    identity_feature: str | None = None  # the data feature that is its input, scored as an output (reference)
    input_label_feature: str | None = None  # the data feature with its input's class (unpaired translators)
    #: an autoencoder's `encode` (float images [-1, 1] -> codes) and `decode` (codes -> float images), from its
    #: served directions (`surface.codec`); None for every other model
    encode: Callable | None = None
    decode: Callable | None = None
    latent_space: LatentSpace | None = None  # an intermediate latent space it declares (PPL in W)
    truncation: float = 1.0  # of the scored samples, applied by the draw rules (the model's own psi, or z * psi)

    def __post_init__(self):
        self._rng = np.random.default_rng(0)  # inputs that `images(z, labels)` callers do not pass

    @classmethod
    def from_latent(cls, fn: Callable, latent_dim: int, num_classes: int = 0) -> "Generator":
        """A plain function `fn(z)` (or `fn(z, labels)` when `num_classes` > 0)."""
        specs = [surface.InputSpec("z", "normal", (int(latent_dim),))]
        if num_classes:
            specs.append(surface.InputSpec("label", "categorical", classes=int(num_classes)))
            return cls(specs, lambda inputs: fn(inputs["z"], inputs["label"]))
        return cls(specs, lambda inputs: fn(inputs["z"]))

    @property
    def fed_from_data(self) -> bool:
        """Whether scoring it needs data-feature batches: inputs that come from data, targets to pair with, or
        held-out examples to encode."""
        return bool(surface.data_features(self.specs) or self.target_feature or self.encode)

    @property
    def latent_dim(self) -> int:
        spec = surface.latent_spec(self.specs)
        return int(spec.shape[-1]) if spec is not None and spec.shape else 0

    @property
    def num_classes(self) -> int:
        spec = surface.categorical_spec(self.specs, "label")
        return spec.classes if spec is not None else 0

    def latent_input(self) -> surface.InputSpec:
        spec = surface.latent_spec(self.specs)
        if spec is None:
            raise DataError(f"the model has no normal (latent) input: inputs {[s.name for s in self.specs]}")
        return spec

    def sample_latents(self, rng: np.random.Generator, n: int):
        """(z, labels or None) for callers that move through the latent space (PPL)."""
        keep = [self.latent_input(), *filter(None, [surface.categorical_spec(self.specs, "label")])]
        drawn = surface.draw_numpy(keep, n, rng)
        return drawn[keep[0].name], drawn.get("label")

    def path_inputs(self, rng: np.random.Generator, n: int, specs=None) -> dict:
        """Every input of `specs` (default: the model's) but the latent, drawn once for n paths: both ends of a
        path share them (class, noise seed), so a path changes nothing but its latent."""
        latent = self.latent_input().name
        return surface.draw_numpy([s for s in (specs or self.specs) if s.name != latent], n, rng)

    def images(self, z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        """Images for latents `z` (and class labels); any other drawable input is drawn at random per call."""
        given = {self.latent_input().name: np.asarray(z), **({"label": np.asarray(labels)} if labels is not None else {})}
        rest = [s for s in self.specs if s.name not in given]
        inputs = {**surface.draw_numpy(rest, len(z), self._rng), **given}
        return np.asarray(self.fn(inputs), np.float32)

    def batches(self, n: int, batch_size: int, seed: int = 0, data: Iterator[dict] | None = None) \
            -> Iterator[np.ndarray]:
        for images, _ in self.batches_with_rows(n, batch_size, seed, data):
            yield images

    def paired_batches(self, n: int, batch_size: int, seed: int = 0, data: Iterator[dict] | None = None) \
            -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(outputs, targets) uint8 batches: each output beside the `target_feature` of the row it was made from."""
        for images, rows in self.batches_with_rows(n, batch_size, seed, data):
            yield self.pair(images, rows)

    def pair(self, images: np.ndarray, rows: dict | None) -> tuple[np.ndarray, np.ndarray]:
        """(outputs, the uint8 targets of the rows they were made from)."""
        if not self.target_feature:
            raise DataError("paired batches need a model with a target feature (an image-to-image model)")
        if rows is None or self.target_feature not in rows:
            raise DataError(f"data: has no {self.target_feature!r} feature to pair the outputs with")
        return images, to_uint8(np.asarray(rows[self.target_feature])[:len(images)])

    def identity(self, images: np.ndarray, rows: dict) -> np.ndarray:
        """The `identity_feature` of the rows `images` were made from, as uint8 images of their shape."""
        if self.identity_feature not in rows:
            raise DataError(f"data: has no {self.identity_feature!r} feature for the identity reference")
        source = to_uint8(np.asarray(rows[self.identity_feature])[:len(images)])
        return identity.as_output(source, images.shape[1:])

    def batches_with_rows(self, n: int, batch_size: int, seed: int = 0, data: Iterator[dict] | None = None):
        """(uint8 outputs, the data rows they were made from, or None) per batch."""
        rng = np.random.default_rng(seed)
        needs = surface.data_features(self.specs)
        if needs and data is None:
            raise DataError(f"the model's inputs come from the data features {needs}; pass data=")
        rows_of = _Rows(data) if data is not None else None
        for start in range(0, n, batch_size):
            size = min(batch_size, n - start)
            rows = rows_of.take(size) if rows_of is not None else None
            if needs and rows is None:
                raise DataError(f"data: ended after {start} of the requested n={n} examples")
            inputs = surface.draw_numpy(self.specs, size, rng, data=rows, truncation=self.truncation)
            yield to_uint8(np.asarray(self.fn(inputs), np.float32)), rows


class _Rows:
    """Rows of an iterator of feature batches, re-chunked to any size (data batches need not match ours)."""

    def __init__(self, batches: Iterator[dict]):
        self.batches, self.pending = batches, None

    def take(self, k: int) -> dict | None:
        parts = []
        while sum(len(next(iter(p.values()))) for p in parts) < k:
            batch = self.pending or next(self.batches, None)
            self.pending = None
            if batch is None:
                return None
            parts.append(batch)
        joined = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        rest = {key: v[k:] for key, v in joined.items()}
        self.pending = rest if len(next(iter(rest.values()))) else None
        return {key: v[:k] for key, v in joined.items()}


def from_gan(gan) -> Generator:
    """Wrap a model's declared surface (`inference_inputs`, `infer`, its served directions, an intermediate latent;
    DESIGN.md)."""
    directions = {d.name: d for d in surface.named_directions(gan)}
    codec = surface.codec([d.to_json() for d in directions.values()])
    encode, decode = ((lambda images, d=directions[pair["name"]]: np.asarray(
        surface.call_network(d.network, {d.inputs[0].name: np.asarray(images, np.float32)}), np.float32))
        for pair in codec) if codec else (None, None)
    latent = surface.intermediate_latent(gan)
    space = None
    if latent is not None:
        space = LatentSpace(latent, lambda source: np.asarray(latent.mapping(source)),
                            lambda inputs: np.asarray(surface.call_network(latent.synthesis, inputs)))
    return Generator(list(gan.inference_inputs()), lambda inputs: np.asarray(gan.infer(inputs)),
                     gan.target_feature, surface.identity_feature(gan), surface.input_label_feature(gan),
                     encode=encode, decode=decode, latent_space=space)


def _served_codec(model) -> tuple:
    """(encode, decode) of an export that serves them (`surface.codec` of its metadata), else (None, None)."""
    codec = surface.codec(model.metadata.get("directions", []))
    if codec is None:
        return None, None
    return tuple(lambda values, d=model.direction(pair["name"]), name=pair["inputs"][0]["name"]:
                 d.infer({name: values}) for pair in codec)


def generator_from_path(path: str | Path, version: int | None = None) -> Generator:
    """The model at `path` as `kgan.sampling.open_model` reads it (run directory, checkpoint prefix,
    saved_models/NAME with `version`, or a version directory); an export is fed through its declared inputs."""
    from kgan.export.served import ServedModel
    from kgan.sampling import open_model  # late: loading a run is heavy

    model = open_model(path, version)
    if isinstance(model, ServedModel):
        latent = model.intermediate_latent
        space = LatentSpace(latent, model.map_latent, model.synthesize) if latent is not None else None
        return Generator(model.specs, model.infer, model.metadata.get("target_feature"),
                         model.metadata.get("identity_feature"), model.metadata.get("input_label_feature"),
                         *_served_codec(model), latent_space=space)
    return from_gan(model)


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
    """A `Generator`, a model (`inference_inputs`, `infer`), or a callable `g(z)` with a `latent_dim` attribute."""
    if isinstance(obj, Generator):
        return obj
    if callable(getattr(obj, "inference_inputs", None)):
        return from_gan(obj)
    if callable(obj) and getattr(obj, "latent_dim", None):
        return Generator.from_latent(obj, int(obj.latent_dim), int(getattr(obj, "num_classes", 0) or 0))
    raise DataError("a generator must be a model with a declared surface (inference_inputs, infer), a "
                    "kgan.metrics.Generator(specs, fn) or a callable with a `latent_dim` attribute")


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
