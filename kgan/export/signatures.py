"""The serving module: the model's inference network traced into TF Serving signatures.

The module holds only the inference network (`model.inference_network()`: the EMA generator when
training kept one), never the discriminator or optimizer state. Every signature is a `tf.function`
with a fixed input signature, so the SavedModel is a self-contained TensorFlow graph: it loads with
`tf.saved_model.load` (or TF Serving) in a process that never imports kgan or Keras.

Signatures are derived from the model's declared inputs (`kgan.models.surface`; contract also in
docs/serving.md):

- `serving_default(<one tensor per declared input, named like it>)` -> `images uint8 [None, H, W, C]`,
  `images_float float32 [None, H, W, C]` in [-1, 1].
- `sample(num_samples int32 [], seed int32 [], truncation float32 [])` -> the same outputs from inputs
  drawn in the graph by `surface.draw_graph` (input i from the stateless Philox seed [seed, i]: the same
  seed gives the same images on every run, process and device; `normal` inputs are scaled by
  `truncation`; categorical inputs cycle 0..K-1). Only when every input can be drawn from a seed:
  a model with image or text inputs has no `sample`.
- `metadata()` -> string/int64 scalars describing the model (and the full JSON).
"""

from __future__ import annotations

import json

import tensorflow as tf

from kgan.models import surface

METADATA_ASSET = "kgan_metadata.json"


def signature_names(specs) -> list[str]:
    """The signatures an export of a model with these inputs has."""
    drawable = all(s.drawable for s in specs)
    return ["serving_default", *(["sample"] if drawable else []), "metadata"]


def _outputs(images):
    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    # Same quantization as kgan.imageio.to_uint8: round-half-to-even of (x + 1) * 127.5.
    as_uint8 = tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)
    return {"images": as_uint8, "images_float": images}


def _metadata_tensor(value):
    """A metadata value as a scalar: ints/bools as int64, flat lists joined by commas, the rest as (JSON) text."""
    if isinstance(value, (bool, int)):
        return tf.constant(int(value), tf.int64)
    if isinstance(value, (list, tuple)) and all(isinstance(v, (str, int, float)) for v in value):
        return tf.constant(",".join(str(v) for v in value))
    if isinstance(value, (list, tuple, dict)) or value is None:
        return tf.constant(json.dumps(value, sort_keys=True))
    return tf.constant(str(value))


class GeneratorModule(tf.Module):
    """tf.Module whose tracked state is just the inference network's variables."""

    def __init__(self, model, metadata: dict, metadata_file: str | None = None):
        super().__init__(name="kgan_generator")
        self.network = model.inference_network()  # a Keras 3 model is trackable: its variables are saved
        # ... but not the states of its layers' seed generators (dropout kept on at inference, pix2pix), which
        # the traced graph reads: track them here or the SavedModel refuses an "untracked resource".
        self.seed_states = [generator.state for layer in self.network._flatten_layers()
                            for generator in getattr(layer, "_seed_generators", [])]
        specs = list(model.inference_inputs())
        names = [s.name for s in specs]
        meta = json.loads(json.dumps(metadata))  # a plain copy, not tracked by the module
        if metadata_file is not None:
            self.metadata_asset = tf.saved_model.Asset(metadata_file)

        @tf.function(input_signature=[s.tensor_spec() for s in specs])
        def serving_default(*args):
            return _outputs(surface.call_network(self.network, dict(zip(names, args))))

        @tf.function(input_signature=[])
        def metadata():
            out = {key: _metadata_tensor(value) for key, value in meta.items()}
            out["json"] = tf.constant(json.dumps(meta, sort_keys=True))
            if metadata_file is not None:
                out["metadata_file"] = self.metadata_asset.asset_path
            return out

        fns = {"serving_default": serving_default, "metadata": metadata}
        if "sample" in signature_names(specs):
            @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                          tf.TensorSpec([], tf.int32, name="seed"),
                                          tf.TensorSpec([], tf.float32, name="truncation")])
            def sample(num_samples, seed, truncation):
                inputs = surface.draw_graph(specs, tf.maximum(num_samples, 0), seed, truncation)
                return _outputs(surface.call_network(self.network, inputs))

            fns["sample"] = sample
        for name, fn in fns.items():
            setattr(self, name, fn)
        self.signature_names = tuple(fns)

    def signatures(self) -> dict:
        return {name: getattr(self, name) for name in self.signature_names}


def save(module: GeneratorModule, path) -> None:
    """Write the SavedModel (kept separate so tests can inject a failure mid-export)."""
    tf.saved_model.save(module, str(path), signatures=module.signatures())
