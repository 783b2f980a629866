"""The serving module: the model's inference network traced into TF Serving signatures.

The module holds only the inference network (`model.inference_network()`: the EMA generator when
training kept one), never the discriminator or optimizer state. Every signature is a `tf.function`
with a fixed input signature, so the SavedModel is a self-contained TensorFlow graph: it loads with
`tf.saved_model.load` (or TF Serving) in a process that never imports kgan or Keras.

Signatures are derived from the model's declared inputs (`kgan.models.surface`; contract also in
docs/serving.md):

- `serving_default(<one tensor per declared input, named like it>)` -> `images uint8 [None, H, W, C]`,
  `images_float float32 [None, H, W, C]` in [-1, 1]. Image inputs are uint8 pixels 0..255 here (what a
  client has after decoding a PNG/JPEG, scaled like training data: x / 127.5 - 1).
- `serving_float(...)` (only with image inputs): the same with image inputs as float32 in [-1, 1] (what the
  network sees; kgan's own consumers call this one, so no input is quantized).
  Image inputs are checked in the graph (rank 4, height, width and channels as declared; floats within
  [-1, 1]) so a wrong request fails with a message naming the input and the expected shape, not deep
  inside a convolution: their signature shape is left open for that.
- `sample(num_samples int32 [], seed int32 [], truncation float32 [])` -> the same outputs from inputs
  drawn in the graph by `surface.draw_graph` (input i from the stateless Philox seed [seed, i]: the same
  seed gives the same images on every run, process and device; `normal` inputs are scaled by
  `truncation`; categorical inputs cycle 0..K-1). A model with text inputs (and no image input) has
  `sample(<its string inputs>, seed, truncation)` instead: one image per string, the other inputs drawn from
  the seed alike. A model with image inputs has no `sample`.
- String inputs are `[batch]` strings (TF Serving's REST API takes them as plain JSON strings); an empty batch is
  refused in the graph with a message naming the input.
- A model that declares `default_signature = "sample"` (the autoencoders) has `sample` as its `serving_default`
  too: a TF Serving client's default request is a seed; its first direction's inputs are served under that
  direction's name (`inference_signature(metadata)` says which signature takes them).
- `<direction>(...)` and `<direction>_float(...)`: a direction whose `output` is "code" (an autoencoder's
  `encode`) returns `codes float32 [None, d]` instead of images. A model that serves several directions (`kgan.models.surface
  .Direction`; CycleGAN's `a_to_b` and `b_to_a`) has each named direction under its name, image inputs as uint8
  and as floats, checked in the graph like `serving_default`; the first direction is also `serving_default` /
  `serving_float` (and the only one with `sample`).
- `mapping(<source>)` -> `{<name>: float32 [None, ...]}` and `synthesis(<name>, ...)` -> the image outputs: a model
  that declares an intermediate latent (`surface.IntermediateLatent`, StyleGAN's W) serves both halves, so PPL in W,
  style edits and the latent tools (which move in that latent) work on the export alone. The latent tools
  differentiate through `synthesis`, or for any other model through `serving_float` / `serving_default` (float
  inputs; gradients flow through a loaded signature).
- `metadata()` -> string/int64 scalars describing the model (and the full JSON).
"""

from __future__ import annotations

import json

import tensorflow as tf

from kgan.models import surface

METADATA_ASSET = "kgan_metadata.json"


def signature_names(specs, directions=(), default: str = "", intermediate=None) -> list[str]:
    """The signatures an export of a model with these inputs (those of its first direction) has; `directions`:
    every direction it serves, when it serves named ones; `default`: the model's `default_signature`;
    `intermediate`: its intermediate latent, if it declares one."""
    drawable = all(s.drawable or s.draw == "string" for s in specs)
    if default == "sample" and not (drawable and directions and directions[0].name):
        raise ValueError("default_signature 'sample' needs a first direction that is named and drawable from a seed")
    images = any(s.draw == "image" for s in specs)
    named = [name for d in directions if d.name for name in direction_signatures(d)]
    halves = ["mapping", "synthesis"] if intermediate is not None else []
    return ["serving_default", *(["serving_float"] if images else []), *(["sample"] if drawable else []), *named,
            *halves, "metadata"]


def direction_signatures(direction) -> list[str]:
    """A named direction's signatures: its name (uint8 image inputs), and `<name>_float` when it takes images."""
    images = any(s.draw == "image" for s in direction.inputs)
    return [direction.name, *([f"{direction.name}_float"] if images else [])]


def _input_spec(spec, images_as_uint8: bool):
    """A signature input: an image input of open shape (checked in the graph by `_checked_image`)."""
    if spec.draw != "image":
        return spec.tensor_spec()
    return tf.TensorSpec(None, tf.uint8 if images_as_uint8 else tf.float32, name=spec.name)


def _checked_image(spec, value):
    """An image input checked against its declaration and scaled to float32 [-1, 1], with the static shape
    the network was built for. Errors name the input, the expected dtype/range and shape; the checks run
    before anything reads the input."""
    as_uint8 = value.dtype == tf.uint8
    expected = (f"{spec.name}: expected {'uint8 0..255' if as_uint8 else 'float32 in [-1, 1]'} images "
                f"shaped [batch, {', '.join(map(str, spec.shape))}]")
    shape = tf.shape(value)
    per_example = tf.pad(shape, [[0, 4]])[1:4]  # padded, so a wrong rank cannot fail the comparison itself
    fits = tf.logical_and(tf.equal(tf.size(shape), 4), tf.reduce_all(tf.equal(per_example, spec.shape)))
    with tf.control_dependencies([tf.debugging.Assert(fits, [f"{expected}; got shape", shape], summarize=8)]):
        value = tf.identity(value)
    if as_uint8:
        value = tf.cast(value, tf.float32) / 127.5 - 1.0  # as training data (kgan.data.preprocess)
    else:
        in_range = tf.reduce_all(tf.abs(value) <= 1.0 + 1e-3)
        message = f"{expected}; got values outside [-1, 1] (send 0..255 pixels as uint8 to serving_default)"
        with tf.control_dependencies([tf.debugging.Assert(in_range, [message])]):
            value = tf.identity(value)
    return tf.ensure_shape(value, [None, *spec.shape])


def inference_signature(metadata: dict) -> str:
    """The signature that takes the first direction's declared inputs: `serving_default`, or the first direction's
    own name when `serving_default` is the seeded sampler (`default_signature = "sample"`)."""
    if metadata.get("default_signature") == "sample":
        return metadata["directions"][0]["name"]
    return "serving_default"


def _codes(codes):
    return {"codes": tf.cast(codes, tf.float32)}


def _checked_text(spec, value):
    """A string input with at least one row (a [batch] string tensor by its signature); the message names it."""
    message = f"{spec.name}: expected a batch of at least one string; got an empty batch"
    with tf.control_dependencies([tf.debugging.Assert(tf.size(value) > 0, [message])]):
        return tf.identity(value)


def _checked(spec, value):
    if spec.draw == "image":
        return _checked_image(spec, value)
    return _checked_text(spec, value) if spec.draw == "string" else value


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
        directions = surface.directions(model)
        self.network = model.inference_network()  # a Keras 3 model is trackable: its variables are saved
        self.other_networks = [d.network for d in directions[1:]]  # further served directions (CycleGAN's b_to_a)
        # ... but not the states of its layers' seed generators (dropout kept on at inference, pix2pix), which
        # the traced graph reads: track them here or the SavedModel refuses an "untracked resource".
        self.seed_states = [generator.state for network in [self.network, *self.other_networks]
                            for layer in network._flatten_layers()
                            for generator in getattr(layer, "_seed_generators", [])]
        specs = list(model.inference_inputs())
        meta = json.loads(json.dumps(metadata))  # a plain copy, not tracked by the module
        if metadata_file is not None:
            self.metadata_asset = tf.saved_model.Asset(metadata_file)

        def serve(images_as_uint8: bool, specs=specs, network=self.network, output="image"):
            outputs = _codes if output == "code" else _outputs

            @tf.function(input_signature=[_input_spec(s, images_as_uint8) for s in specs])
            def fn(*args):
                inputs = {s.name: _checked(s, a) for s, a in zip(specs, args)}
                return outputs(surface.call_network(network, inputs))

            return fn

        @tf.function(input_signature=[])
        def metadata():
            out = {key: _metadata_tensor(value) for key, value in meta.items()}
            out["json"] = tf.constant(json.dumps(meta, sort_keys=True))
            if metadata_file is not None:
                out["metadata_file"] = self.metadata_asset.asset_path
            return out

        default = surface.default_signature(model)
        names = signature_names(specs, directions, default)
        fns = {"serving_default": serve(images_as_uint8=True), "metadata": metadata}
        if "serving_float" in names:
            fns["serving_float"] = serve(images_as_uint8=False)
        texts = [s for s in specs if s.draw == "string"]
        if "sample" in names and texts:
            drawn = [s for s in specs if s.drawable]

            @tf.function(input_signature=[s.tensor_spec() for s in texts]
                         + [tf.TensorSpec([], tf.int32, name="seed"), tf.TensorSpec([], tf.float32, name="truncation")])
            def sample(*args):
                given = {s.name: _checked_text(s, a) for s, a in zip(texts, args)}
                seed, truncation = args[len(texts):]
                inputs = {**given, **surface.draw_graph(drawn, tf.size(given[texts[0].name]), seed, truncation)}
                return _outputs(surface.call_network(self.network, inputs))

            fns["sample"] = sample
        elif "sample" in names:
            @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                          tf.TensorSpec([], tf.int32, name="seed"),
                                          tf.TensorSpec([], tf.float32, name="truncation")])
            def sample(num_samples, seed, truncation):
                inputs = surface.draw_graph(specs, tf.maximum(num_samples, 0), seed, truncation)
                return _outputs(surface.call_network(self.network, inputs))

            fns["sample"] = sample
            if default == "sample":  # TF Serving's default request is a seed: the model is served from its prior
                fns["serving_default"] = sample
        for direction in filter(lambda d: d.name, directions):
            d_specs = list(direction.inputs)
            network = self.network if direction is directions[0] else direction.network
            for name in direction_signatures(direction):
                fns[name] = serve(not name.endswith("_float"), d_specs, network, direction.output)
        intermediate = surface.intermediate_latent(model)
        if intermediate is not None:
            fns.update(_latent_halves(intermediate))
            self.intermediate_networks = [intermediate.mapping, intermediate.synthesis]
        for name, fn in fns.items():
            setattr(self, name, fn)
        self.signature_names = tuple(fns)

    def signatures(self) -> dict:
        return {name: getattr(self, name) for name in self.signature_names}


def _latent_halves(latent) -> dict:
    """The `mapping` (source -> latent) and `synthesis` (latent + other inputs -> images) signatures."""
    source = tf.TensorSpec([None, *latent.mapping.inputs[0].shape[1:]], tf.float32, name=latent.source)
    synthesis_specs = [tf.TensorSpec([None, *latent.shape], tf.float32, name=latent.name),
                       *(s.tensor_spec() for s in latent.inputs)]
    names = [latent.name, *(s.name for s in latent.inputs)]

    @tf.function(input_signature=[source])
    def mapping(value):
        return {latent.name: tf.cast(latent.mapping(value), tf.float32)}

    @tf.function(input_signature=synthesis_specs)
    def synthesis(*args):
        return _outputs(surface.call_network(latent.synthesis, dict(zip(names, args))))

    return {"mapping": mapping, "synthesis": synthesis}


def save(module: GeneratorModule, path) -> None:
    """Write the SavedModel (kept separate so tests can inject a failure mid-export)."""
    tf.saved_model.save(module, str(path), signatures=module.signatures())
