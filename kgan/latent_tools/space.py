"""A model opened for the latent tools: its declared latent space, rendered differentiably, from a run or an export.

The space is `kgan.models.surface.latent_space`: a model's intermediate latent when it declares one (StyleGAN's w,
rendered by its synthesis network, reached from z by its mapping), else its first `normal` input (a DCGAN's z). A
run renders through the model's networks; an export through its own signatures (`synthesis` / `mapping` for an
intermediate latent, else `serving_float` / `serving_default`, whose float inputs gradients flow through), so a
SavedModel alone is enough.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import numpy as np

from kgan.errors import DataError
from kgan.models import surface

BATCH = 256


@dataclass
class LatentModel:
    """`latent`: the spec of the space; `others`: the other inputs its renderer takes (class labels, codes);
    `specs`: the model's inference inputs; `render(inputs)`: {latent, others} -> float32 images in [-1, 1]
    (TensorFlow, differentiable in the latent); `mapping(inputs)`: inference inputs -> latent (None: the latent is
    an inference input)."""

    latent: surface.InputSpec
    others: list
    specs: list
    render: Callable
    mapping: Callable | None = None

    @property
    def names(self) -> list[str]:
        return [self.latent.name, *(s.name for s in self.others)]

    def to_space(self, inputs: dict) -> dict:
        """Inference inputs -> the latent and the other inputs (what every tool works on)."""
        out = {s.name: np.asarray(inputs[s.name]) for s in self.others}
        if self.mapping is None:
            out[self.latent.name] = np.asarray(inputs[self.latent.name], np.float32)
        else:
            out[self.latent.name] = np.array(self.mapping(inputs), np.float32)  # a writable copy of the tensor
        return out

    def draw(self, n: int, seed: int) -> dict:
        """n points of the space from `seed`: the inference inputs' fixed draws (categorical inputs cycling),
        mapped into the space."""
        return self.to_space(surface.fixed_inputs(self.specs, n, seed))

    def tensors(self, inputs: dict) -> dict:
        import tensorflow as tf

        return {s.name: tf.convert_to_tensor(np.asarray(inputs[s.name]), s.dtype)
                for s in [self.latent, *self.others]}

    def images(self, inputs: dict) -> np.ndarray:
        """float32 images for points of the space, in batches of BATCH."""
        n = len(inputs[self.latent.name])
        return np.concatenate([np.asarray(self.render(self.tensors({k: v[i:i + BATCH] for k, v in inputs.items()})))
                               for i in range(0, n, BATCH)])

    @cached_property
    def image_shape(self) -> tuple:
        return tuple(self.images(self.draw(1, 0)).shape[1:])


def _check(specs, where) -> surface.InputSpec:
    latent = surface.latent_spec(specs)
    if latent is None:
        raise DataError(f"{where}: the model has no normal (latent) input to project into, interpolate or steer "
                        f"(its inputs: {[s.name for s in specs] or 'none'})")
    return latent


def from_model(model, where="the model") -> LatentModel:
    """A model with the declared surface (a run's engine model)."""
    specs = list(model.inference_inputs())
    space = surface.latent_space(model)
    if space is None:
        _check(specs, where)
    if [s.name for s in specs if not s.drawable]:
        raise DataError(f"{where}: its inputs come from data; the latent tools need a model drawn from a seed")
    by_name = {s.name: s for s in specs}
    others = [by_name[t.name] for t in space.network.inputs if t.name != space.input.name]
    mapping = None
    if space.mapping is not None:
        mapping = lambda inputs: space.mapping(np.asarray(inputs[space.source], np.float32))  # noqa: E731
    return LatentModel(space.input, others, specs,
                       lambda inputs: surface.call_network(space.network, inputs, training=False), mapping)


def from_served(served, where=None) -> LatentModel:
    """An export (`kgan.export.served.ServedModel`), through its signatures only."""
    import tensorflow as tf

    where = where or served.version_dir
    specs = list(served.specs)
    if [s.name for s in specs if not s.drawable]:
        raise DataError(f"{where}: its inputs come from data; the latent tools need a model drawn from a seed")
    declared = served.metadata.get("latent") or {}
    if not declared.get("mapped"):
        latent = surface.InputSpec.from_json(declared["input"]) if declared else _check(specs, where)
        others = [s for s in specs if s.name != latent.name]
        return LatentModel(latent, others, specs, lambda inputs: served.serving(**inputs)["images_float"])
    signatures = served.model.signatures
    missing = [name for name in ("synthesis", "mapping") if name not in signatures]
    if missing:
        raise DataError(f"{where}: declares an intermediate latent but has no {missing} signature")
    latent = surface.InputSpec.from_json(declared["input"])
    by_name = {s.name: s for s in specs}
    others = [by_name[name] for name in declared["network_inputs"] if name != latent.name]
    source = served.intermediate_latent.source

    def mapping(inputs):
        return signatures["mapping"](**{source: tf.constant(np.asarray(inputs[source]), tf.float32)})[latent.name]

    return LatentModel(latent, others, specs,
                       lambda inputs: signatures["synthesis"](**inputs)["images_float"], mapping)


def open_latent_model(source, version: int | None = None) -> LatentModel:
    """A run directory, checkpoint or export (`kgan.sampling.open_model`) opened for the latent tools."""
    from kgan.export.served import ServedModel
    from kgan.sampling import open_model

    model = open_model(source, version)
    if isinstance(model, ServedModel):
        return from_served(model, source)
    return from_model(model, source)
