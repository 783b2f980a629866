"""An export used through its signatures only: how the gallery, the metrics and `kgan sample` call one.

The inputs come from the export's metadata (`inputs`, the model's declared surface). A SavedModel
without kgan's metadata is described from its `serving_default` signature when that is unambiguous:
a float32 `z` [None, d] is a normal latent; anything else (a class label needs its class count) is
a `CheckpointError` naming the input.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kgan.errors import CheckpointError, ExportError
from kgan.export.versions import resolve_version_dir
from kgan.imageio import to_uint8
from kgan.models import surface

METADATA_ASSET = Path("assets") / "kgan_metadata.json"


def specs_from_signature(signature: dict, where) -> list[surface.InputSpec]:
    """The declared inputs of a foreign SavedModel, from serving_default's {name: TensorSpec}."""
    import tensorflow as tf

    specs = []
    for name, spec in signature.items():
        if name == "z" and spec.dtype == tf.float32 and spec.shape.rank == 2 and spec.shape[-1] is not None:
            specs.append(surface.InputSpec("z", "normal", (int(spec.shape[-1]),)))
        else:
            raise CheckpointError(f"{where}: serving_default input {name!r} ({spec.dtype.name} "
                                  f"{spec.shape.as_list()}) cannot be fed without kgan's {METADATA_ASSET} "
                                  "(its 'inputs' say how it is drawn)")
    return specs


class ServedModel:
    """A loaded export: `specs`, `infer(inputs)` -> float images, `images(inputs)` -> uint8, `sample(...)`."""

    def __init__(self, path: str | Path, version: int | None = None, direction: str | None = None, *,
                 loaded=None):
        """`direction`: one of the named directions the export serves (metadata `directions`; CycleGAN's
        `b_to_a`, an autoencoder's `encode`) instead of its first one. `loaded`: the SavedModel already loaded
        from `path` (`direction()` reuses it)."""
        import tensorflow as tf

        from kgan.export.signatures import inference_signature

        self.version_dir = resolve_version_dir(path, version)
        try:
            self.model = loaded if loaded is not None else tf.saved_model.load(str(self.version_dir))
        except Exception as e:  # noqa: BLE001 - any load failure is a user-facing unreadable export
            raise ExportError(f"{self.version_dir}: cannot load the SavedModel ({e})") from None
        meta = self.version_dir / METADATA_ASSET
        self.metadata = json.loads(meta.read_text()) if meta.is_file() else {}
        signatures = self.model.signatures
        first = inference_signature(self.metadata)  # serving_default, unless that is the seeded sampler
        self.serving = signatures.get(first)
        if self.serving is None:
            raise CheckpointError(f"{self.version_dir}: SavedModel has no {first!r} signature")
        if first == "serving_default":  # image inputs are floats here: serving_float takes them unquantized
            self.serving = signatures.get("serving_float", self.serving)
        self.sample_signature = signatures.get("sample")
        self.output = "image"  # what `infer` returns: images, or codes (an autoencoder's `encode` direction)
        inputs = self.metadata.get("inputs")
        if direction is not None:
            served = {d["name"]: d for d in self.metadata.get("directions", [])}
            if direction not in served:
                raise ExportError(f"{self.version_dir}: serves no direction {direction!r}; it serves "
                                  f"{sorted(served) or 'one unnamed direction'}")
            self.serving = signatures.get(f"{direction}_float", signatures.get(direction))
            self.sample_signature, inputs = None, served[direction]["inputs"]
            self.output = served[direction].get("output", "image")
        self._signature = self.serving.structured_input_signature[1]
        if inputs is not None:
            self.specs = surface.specs_from_json(inputs)
        else:
            self.specs = specs_from_signature(self._signature, self.version_dir)
        if {s.name for s in self.specs} != set(self._signature):
            raise CheckpointError(f"{self.version_dir}: metadata inputs {[s.name for s in self.specs]} do not "
                                  f"match serving_default's {sorted(self._signature)}")
        latent = self.metadata.get("intermediate_latent")
        self.intermediate_latent = surface.IntermediateLatent.from_json(latent) if latent else None
        mixing = self.metadata.get("style_mixing")
        self.style_mixing = surface.StyleMixing.from_json(mixing) if mixing else None
        outputs = self.serving.structured_outputs
        if not {"images_float", "images", "codes"} & set(outputs):
            raise CheckpointError(f"{self.version_dir}: serving_default returns {sorted(outputs)}, "
                                  "neither 'images_float' nor 'images'")

    def direction(self, name: str) -> "ServedModel":
        """The same loaded export fed through its named direction `name`."""
        return ServedModel(self.version_dir, direction=name, loaded=self.model)

    def _call(self, inputs: dict) -> dict:
        import tensorflow as tf

        inputs = surface.check_inputs(self.specs, inputs)
        return self.serving(**{k: tf.constant(v, self._signature[k].dtype) for k, v in inputs.items()})

    def infer(self, inputs: dict) -> np.ndarray:
        """float32 images [B, H, W, C] in [-1, 1] for named inputs (checked like `GAN.infer`); codes [B, d] from a
        direction whose output is a code."""
        out = self._call(inputs)
        if "codes" in out:
            return np.asarray(out["codes"].numpy(), np.float32)
        if "images_float" in out:
            return np.asarray(out["images_float"].numpy(), np.float32)
        return out["images"].numpy().astype(np.float32) / 127.5 - 1.0

    def images(self, inputs: dict) -> np.ndarray:
        """uint8 images, quantized by the export itself when it returns `images`."""
        if self.output != "image":
            raise ExportError(f"{self.version_dir}: this direction outputs {self.output}s, not images")
        out = self._call(inputs)
        if "images" in out:
            return np.asarray(out["images"].numpy(), np.uint8)
        return to_uint8(out["images_float"].numpy())

    def map_latent(self, source: np.ndarray) -> np.ndarray:
        """The export's `mapping` signature: its normal input -> the intermediate latent (StyleGAN's z -> w)."""
        import tensorflow as tf

        latent = self._latent()
        out = self.model.signatures["mapping"](**{latent.source: tf.constant(source, tf.float32)})
        return np.asarray(out[latent.name].numpy(), np.float32)

    def synthesize(self, inputs: dict) -> np.ndarray:
        """The export's `synthesis` signature: {latent name: array, its other inputs} -> float images."""
        import tensorflow as tf

        latent = self._latent()
        specs = [surface.InputSpec(latent.name, "normal", latent.shape), *latent.inputs]
        checked = surface.check_inputs(specs, inputs)
        out = self.model.signatures["synthesis"](**{s.name: tf.constant(checked[s.name], s.dtype) for s in specs})
        return np.asarray(out["images_float"].numpy(), np.float32)

    def _latent(self) -> surface.IntermediateLatent:
        if self.intermediate_latent is None:
            raise ExportError(f"{self.version_dir}: declares no intermediate latent (no mapping/synthesis signatures)")
        return self.intermediate_latent

    def sample(self, n: int, seed: int = 0, truncation: float = 1.0, texts: list | None = None) -> np.ndarray:
        """n uint8 images from the `sample` signature (inputs drawn in the graph from `seed`); an export with text
        inputs takes `texts` (strings, cycled to n rows) for each of them."""
        import tensorflow as tf

        strings = [s.name for s in self.specs if s.draw == "string"]
        if strings and self.sample_signature is not None:
            if not texts:
                raise ExportError(f"{self.version_dir}: its inputs {strings} are text; pass them (kgan sample --text)")
            given = {name: tf.constant([texts[i % len(texts)] for i in range(n)]) for name in strings}
            out = self.sample_signature(**given, seed=tf.constant(seed, tf.int32),
                                        truncation=tf.constant(truncation, tf.float32))
            return np.asarray(out["images"].numpy(), np.uint8)
        if n < 1:
            raise ExportError(f"--n {n}: need at least one sample")
        if not -2**31 <= seed < 2**31:
            raise ExportError(f"--seed {seed}: must fit in int32")
        if self.sample_signature is None:
            needs = [s.name for s in self.specs if not s.drawable]
            why = (f"its inputs {needs} come from data" if needs else "it is not a kgan export")
            raise ExportError(f"{self.version_dir}: has no 'sample' signature ({why})")
        out = self.sample_signature(num_samples=tf.constant(n, tf.int32), seed=tf.constant(seed, tf.int32),
                                    truncation=tf.constant(truncation, tf.float32))
        return np.asarray(out["images"].numpy(), np.uint8)
