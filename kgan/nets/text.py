"""Text-to-image networks (Reed et al. 2016): text encoders, and DCGAN nets conditioned on a text embedding.

- `char_encoder`: strings -> `keras.layers.TextVectorization` (characters; the vocabulary adapted to the data's
  captions is part of the layer, so it travels with the checkpointed model, `model.keras` and the export) ->
  embedding -> a small char-CNN (two convolutions, a pooling) -> GRU -> the text embedding (the paper's
  char-CNN-RNN, small), L2-normalized and scaled to norm sqrt(embed_dim): components of about unit size, where a
  fresh GRU's state is ~1e-3 and the generator's and discriminator's conditioning read it as no text at all (the
  matching objective compares directions, so it never grew); interpolations mix these normalized embeddings.
- `digit_encoder`: strings -> one-hot of the digit the text names (its name or numeral): no learned text
  model, so a generator conditioned on it is a class-conditional GAN that reads its class from the caption.
- `hub_encoder`: a pretrained text embedding from a local TF-Hub / SavedModel directory (never downloaded),
  frozen.
- `text_generator`: (z, embedding) -> the embedding compressed to `text_dim` (Dense + LeakyReLU(0.2), or
  conditioning augmentation) concatenated with z -> the DCGAN generator body.
- `text_discriminator`: (image, embedding) -> the DCGAN discriminator's convolutions down to 4..7 px; the
  compressed embedding replicated over that map and concatenated; a 1x1 convolution; the logit.
- `image_encoder`: image -> the space of the text embedding (the joint embedding of the matching objective).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from kgan.nets.dcgan import dcgan_discriminator, dcgan_generator

_PKG = "kgan"
DIGIT_NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@keras.saving.register_keras_serializable(package=_PKG)
class DigitReader(layers.Layer):
    """[B] strings -> [B, 10] one-hot of the digit each names (a word `seven` or a numeral `7`; zeros when none)."""

    def call(self, text):
        text = tf.strings.lower(tf.convert_to_tensor(text))
        found = [tf.strings.regex_full_match(text, f".*\\b({name}|{d})\\b.*") for d, name in enumerate(DIGIT_NAMES)]
        hits = tf.cast(tf.stack(found, axis=-1), "float32")
        first = tf.one_hot(tf.argmax(hits, axis=-1), len(DIGIT_NAMES))  # the first digit named
        return first * tf.reduce_max(hits, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], len(DIGIT_NAMES))


@keras.saving.register_keras_serializable(package=_PKG)
class HubText(layers.Layer):
    """A frozen text embedding loaded from a local SavedModel directory (a TF-Hub module: callable on a [B] string
    batch, returning [B, D] floats)."""

    def __init__(self, path: str, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.module_path = str(path)
        self.module = tf.saved_model.load(self.module_path)
        self.dim = int(self.module(tf.constant(["a"])).shape[-1])

    def call(self, text):
        return tf.cast(self.module(tf.convert_to_tensor(text)), "float32")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.dim)

    def get_config(self):
        return {**super().get_config(), "path": self.module_path}


@keras.saving.register_keras_serializable(package=_PKG)
class ConditioningAugmentation(layers.Layer):
    """StackGAN's conditioning augmentation: (mu, log sigma) = Dense(embedding); in training c = mu + sigma * eps,
    eps ~ N(0, I) (a smooth conditioning manifold); at inference c = mu, so the same text gives the same code.
    `kl(embedding)` is KL(N(mu, sigma^2) || N(0, I)), the term that keeps the manifold near the prior."""

    def __init__(self, units: int, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.seed = seed
        self.stats = layers.Dense(2 * self.units, name="stats")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.stats.build(input_shape)

    def moments(self, embedding):
        mu, log_sigma = ops.split(ops.leaky_relu(self.stats(embedding), 0.2), 2, axis=-1)
        return mu, ops.clip(log_sigma, -10.0, 10.0)

    def call(self, embedding, training=False):
        mu, log_sigma = self.moments(embedding)
        if not training:
            return mu
        return mu + ops.exp(log_sigma) * keras.random.normal(ops.shape(mu), seed=self.seed_generator)

    def kl(self, embedding):
        mu, log_sigma = self.moments(embedding)
        return ops.mean(ops.sum(0.5 * (ops.square(mu) + ops.exp(2.0 * log_sigma) - 1.0) - log_sigma, axis=-1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "seed": self.seed}


def char_encoder(vocabulary, embed_dim: int = 128, width: int = 64, max_length: int = 64) -> keras.Model:
    text = keras.Input((), dtype="string", name="text")
    ids = layers.TextVectorization(standardize="lower", split="character", output_mode="int",
                                   output_sequence_length=max_length, vocabulary=list(vocabulary),
                                   name="vectorize")(text)
    x = layers.Embedding(len(vocabulary) + 2, width, name="chars")(ids)  # + padding and out-of-vocabulary
    x = layers.Conv1D(width, 5, padding="same", activation="relu", name="conv_0")(x)
    x = layers.MaxPooling1D(2, name="pool")(x)
    x = layers.Conv1D(width, 3, padding="same", activation="relu", name="conv_1")(x)
    x = layers.GRU(embed_dim, go_backwards=True, name="gru")(x)  # backwards: the padding first, the state ends on text
    x = layers.UnitNormalization(name="unit_norm")(x)
    x = layers.Rescaling(float(embed_dim) ** 0.5, name="unit_variance")(x)  # components of about unit size
    return keras.Model(text, x, name="text_encoder")


def digit_encoder() -> keras.Model:
    text = keras.Input((), dtype="string", name="text")
    return keras.Model(text, DigitReader(name="digit")(text), name="text_encoder")


def hub_encoder(path: str) -> keras.Model:
    text = keras.Input((), dtype="string", name="text")
    return keras.Model(text, HubText(path, name="hub")(text), name="text_encoder")


def _compress(embedding, text_dim: int, augmentation: bool, seed, name: str):
    if augmentation:
        return ConditioningAugmentation(text_dim, seed=seed, name=f"{name}_augmentation")(embedding)
    return layers.LeakyReLU(0.2, name=f"{name}_act")(layers.Dense(text_dim, name=name)(embedding))


def text_generator(latent_dim: int, embed_dim: int, image_shape, *, text_dim: int = 128, width: int = 64,
                   augmentation: bool = False, seed=None) -> keras.Model:
    z = keras.Input((latent_dim,), name="z")
    embedding = keras.Input((embed_dim,), name="embedding")
    code = _compress(embedding, text_dim, augmentation, seed, "text_code")
    x = layers.Concatenate(name="z_and_text")([z, code])
    body = dcgan_generator(latent_dim + text_dim, image_shape, width=width)
    body.name = "generator_body"
    return keras.Model({"z": z, "embedding": embedding}, body(x), name="generator")


def _trunk(image_shape, width: int, norm: str, name: str) -> keras.Model:
    """The DCGAN discriminator's convolutions (image -> its last feature map)."""
    d = dcgan_discriminator(image_shape, width=width, norm=norm)
    return keras.Model(d.inputs, d.get_layer("features").input, name=name)


def text_discriminator(image_shape, embed_dim: int, *, text_dim: int = 128, width: int = 64,
                       norm: str = "batch", projection: bool = False) -> keras.Model:
    """`projection` adds <phi(x), W c> to the logit (Miyato & Koyama 2018), phi(x) the image's pooled features and
    c the compressed text: a direct matching score beside the paper's concatenation."""
    image = keras.Input(tuple(image_shape), name="image")
    embedding = keras.Input((embed_dim,), name="embedding")
    fmap = _trunk(image_shape, width, norm, "image_trunk")(image)
    h, w, filters = (int(d) for d in fmap.shape[1:])
    code = _compress(embedding, text_dim, False, None, "text_code")
    tiled = layers.UpSampling2D((h, w), name="text_replicated")(layers.Reshape((1, 1, text_dim))(code))
    x = layers.Concatenate(name="image_and_text")([fmap, tiled])
    x = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 1, name="joint")(x))
    features = layers.Flatten(name="features")(x)
    logits = layers.Dense(1, dtype="float32", name="logits")(features)
    if projection:
        pooled = layers.GlobalAveragePooling2D(name="pooled")(fmap)
        projected = layers.Dense(filters, use_bias=False, name="text_projection")(code)
        match = layers.Dot(axes=1, name="projection")([pooled, projected])
        logits = layers.Add(dtype="float32", name="logits_plus_projection")([logits, match])
    return keras.Model({"image": image, "embedding": embedding}, logits, name="discriminator")


def image_encoder(image_shape, embed_dim: int, width: int = 64) -> keras.Model:
    image = keras.Input(tuple(image_shape), name="image")
    x = layers.Flatten()(_trunk(image_shape, width, "none", "image_encoder_trunk")(image))
    return keras.Model(image, layers.Dense(embed_dim, name="embedding")(x), name="image_encoder")
