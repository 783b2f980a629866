"""The serving module: the sampler network traced into three TF Serving signatures.

The module holds only the sampler (the EMA generator when training kept one), never the
discriminator or optimizer state. Every signature is a `tf.function` with a fixed input signature,
so the SavedModel is a self-contained TensorFlow graph: it loads with `tf.saved_model.load` (or TF
Serving) in a process that never imports kgan or Keras.

Signature contract (also in docs/serving.md):

- `serving_default(z float32 [None, latent_dim] [, label int32 [None]])`
  -> `images uint8 [None, H, W, C]`, `images_float float32 [None, H, W, C]` in [-1, 1].
  `label` exists only for conditional models (`num_classes > 0`).
- `sample(num_samples int32 [], seed int32 [], truncation float32 [])` -> the same outputs, from
  z = truncation * N(0, I) drawn with the stateless Philox generator seeded `[seed, 0]`: the same
  seed gives the same images on every run, process and device. Truncation trick: z ~ N(0, I) has
  mean 0, so scaling toward the mean is z * psi (psi = 1: no truncation; smaller: less variety,
  higher fidelity). Conditional models get labels cycling 0, 1, ..., K-1, 0, ...
- `metadata()` -> string/int64 scalars describing the model (and the full JSON).
"""

from __future__ import annotations

import json

import tensorflow as tf

SIGNATURES = ("serving_default", "sample", "metadata")
METADATA_ASSET = "kgan_metadata.json"


def input_specs(gan) -> dict[str, tf.TensorSpec]:
    """Inputs of `serving_default`, in order.

    Image-to-image models (pix2pix, super-resolution; not in kgan yet) would add an `image float32
    [None, H, W, C]` input here and a `sample` rule for drawing source images.
    """
    specs = {"z": tf.TensorSpec([None, gan.latent_dim], tf.float32, name="z")}
    if gan.num_classes:
        specs["label"] = tf.TensorSpec([None], tf.int32, name="label")
    specs.update(gan.code_specs() if hasattr(gan, "code_specs") else {})  # InfoGAN: code_cat, code_cont
    return specs


def generator_call(sampler, inputs: dict):
    """Feed the signature inputs to the sampler the way the engine does (`GAN.generator_inputs`)."""
    if "code_cat" in inputs:  # latent codes (InfoGAN): the generator's inputs carry the signature's names
        return sampler(dict(inputs), training=False)
    if "label" in inputs:
        return sampler([inputs["z"], inputs["label"]], training=False)
    return sampler(inputs["z"], training=False)


def _outputs(images):
    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    # Same quantization as kgan.imageio.to_uint8: round-half-to-even of (x + 1) * 127.5.
    as_uint8 = tf.cast(tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0), tf.uint8)
    return {"images": as_uint8, "images_float": images}


class GeneratorModule(tf.Module):
    """tf.Module whose tracked state is just the sampler network's variables."""

    def __init__(self, gan, metadata: dict, metadata_file: str | None = None):
        super().__init__(name="kgan_generator")
        self.sampler = gan.sampler  # a Keras 3 model is trackable: its variables are saved with the module
        self._latent_dim = int(gan.latent_dim)
        self._num_classes = int(gan.num_classes)
        self._specs = input_specs(gan)
        self._code_sampler = gan.code_sampler() if hasattr(gan, "code_sampler") else None
        self._metadata = dict(metadata)
        self._metadata_json = json.dumps(metadata, sort_keys=True)
        if metadata_file is not None:
            self.metadata_asset = tf.saved_model.Asset(metadata_file)

        specs = list(self._specs.values())
        names = list(self._specs)

        @tf.function(input_signature=specs)
        def serving_default(*args):
            return _outputs(generator_call(self.sampler, dict(zip(names, args))))

        @tf.function(input_signature=[tf.TensorSpec([], tf.int32, name="num_samples"),
                                      tf.TensorSpec([], tf.int32, name="seed"),
                                      tf.TensorSpec([], tf.float32, name="truncation")])
        def sample(num_samples, seed, truncation):
            return _outputs(generator_call(self.sampler, self._sample_inputs(num_samples, seed, truncation)))

        @tf.function(input_signature=[])
        def metadata():
            out = {}
            for key, value in self._metadata.items():
                if isinstance(value, bool):
                    out[key] = tf.constant(int(value), tf.int64)
                elif isinstance(value, int):
                    out[key] = tf.constant(value, tf.int64)
                elif isinstance(value, (list, tuple)):
                    out[key] = tf.constant(",".join(str(v) for v in value))
                else:
                    out[key] = tf.constant(str(value))
            out["json"] = tf.constant(self._metadata_json)
            if metadata_file is not None:
                out["metadata_file"] = self.metadata_asset.asset_path
            return out

        self.serving_default = serving_default
        self.sample = sample
        self.metadata = metadata

    def _sample_inputs(self, num_samples, seed, truncation) -> dict:
        n = tf.maximum(num_samples, 0)
        z = tf.random.stateless_normal(tf.stack([n, self._latent_dim]), seed=tf.stack([seed, 0]),
                                       dtype=tf.float32, alg="philox")
        inputs = {"z": z * truncation}
        if self._num_classes:
            inputs["label"] = tf.math.floormod(tf.range(n, dtype=tf.int32), self._num_classes)
        if self._code_sampler is not None:  # InfoGAN codes, drawn statelessly from the same seed
            inputs.update(self._code_sampler(n, seed))
        return inputs

    def signatures(self) -> dict:
        return {"serving_default": self.serving_default, "sample": self.sample, "metadata": self.metadata}


def save(module: GeneratorModule, path) -> None:
    """Write the SavedModel (kept separate so tests can inject a failure mid-export)."""
    tf.saved_model.save(module, str(path), signatures=module.signatures())
