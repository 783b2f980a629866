"""StyleGAN's networks (Karras et al. 2019; the modulated convolutions of StyleGAN2, Karras et al. 2020).

- `mapping_network`: z -> w, pixel norm then `layers` equalized dense layers (lr multiplier 0.01: the seeds'
  "Mapping Network: Undo Feature Entanglement").
- `synthesis_network`: per-layer styles ws [B, L, w_dim] (+ a per-example noise seed) -> image. It starts from a
  learned constant 4x4 input ("Constant Initial Value Input"); every style layer is a 3x3 convolution, per-pixel
  noise scaled by a learned per-channel strength ("Stochastic Variation"), LeakyReLU and the style: AdaIN
  (`styles = "adain"`, StyleGAN) or a modulated/demodulated convolution (`"modulated"`, StyleGAN2, with skip
  to-RGB outputs summed over resolutions). Two style layers per resolution: L = 2 log2(R) - 2.
- `style_generator`: z, psi, noise_seed -> image, the served network: mapping, then `Truncation` (holds w_avg,
  tracked by EMA in training; w_avg + psi (w - w_avg) on the first `cutoff` layers), then synthesis.
- `style_discriminator`: equalized convolutions, average-pool downsampling, minibatch stddev at 4x4.
- `GrowingStyleGenerator`: the same generator grown progressively (`kgan.nets.progressive.GrowingNetwork`, trained
  with ProGAN's growing discriminator by `kgan.models.growing`): one to-RGB per resolution, the newest resolution
  faded in over the previous one's output, upsampled.

Noise is a function of the example's `noise_seed` and the layer (a counter-based hash, `hashed_normal`), not a
stateful draw: the same seed gives the same noise on every call, device and batch position, so two images that
share a seed differ only by their styles (PPL's path ends, the psi = 0 image) and a new seed resamples the noise
at a fixed w (the gallery's stochastic-variation panel).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

from kgan.layers import EqualizedConv2D, EqualizedDense, MinibatchStdDev, PixelNorm
from kgan.nets.progressive import GrowingNetwork, lerp, upsample

_PKG = "kgan"
STYLES = ("adain", "modulated")
_MASK = 0xFFFFFFFF


def num_style_layers(resolution: int) -> int:
    """Two style layers per resolution 4, 8, ..., R."""
    return 2 * int(math.log2(resolution)) - 2


def layer_resolutions(resolution: int) -> list[int]:
    """The resolution each style layer works at: [4, 4, 8, 8, ..., R, R]."""
    return [4 * 2 ** (i // 2) for i in range(num_style_layers(resolution))]


def channels_at(r: int, resolution: int, width: int, max_channels: int = 512) -> int:
    """Feature maps at resolution r: `width` at the output, doubling per halving, at most `max_channels`."""
    return int(min(width * resolution // r, max(max_channels, width)))


def _mix32(x):
    """murmur3's 32-bit finalizer on int64 tensors holding 32-bit values."""
    x = x & _MASK
    x = x ^ tf.bitwise.right_shift(x, 16)
    x = (x * 0x85EBCA6B) & _MASK
    x = x ^ tf.bitwise.right_shift(x, 13)
    x = (x * 0xC2B2AE35) & _MASK
    return x ^ tf.bitwise.right_shift(x, 16)


def hashed_normal(seeds, height: int, width: int, salt: int):
    """N(0, 1) noise [B, height, width, 1], a pure function of each example's int seed and `salt` (Box-Muller on
    hashed counters): stateless and per example, unlike a batch-shaped stateless draw."""
    n = height * width
    key = _mix32(_mix32(tf.cast(seeds, tf.int64)[:, None]) + salt)
    bits = _mix32(key + tf.range(2 * n, dtype=tf.int64)[None, :])
    u = (tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) + 0.5) / float(1 << 24)  # (0, 1)
    z = tf.sqrt(-2.0 * tf.math.log(u[:, :n])) * tf.cos(2.0 * math.pi * u[:, n:])
    return tf.reshape(z, [-1, height, width, 1])


@keras.saving.register_keras_serializable(package=_PKG)
class NoiseInput(layers.Layer):
    """x + strength * noise: per-pixel noise from the example's seed, one learned strength per channel (init 0)."""

    def __init__(self, salt: int, **kwargs):
        super().__init__(**kwargs)
        self.salt = int(salt)

    def build(self, input_shape):
        self.strength = self.add_weight(name="strength", shape=(int(input_shape[0][-1]),), initializer="zeros")

    def call(self, inputs):
        x, seeds = inputs
        noise = hashed_normal(seeds, int(x.shape[1]), int(x.shape[2]), self.salt)
        return x + ops.cast(noise, x.dtype) * ops.cast(self.strength, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "salt": self.salt}


@keras.saving.register_keras_serializable(package=_PKG)
class AdaIN(layers.Layer):
    """Adaptive instance normalization: each channel normalized over the image, then y_s * x + y_b with (y_s, y_b)
    an equalized affine map of w (y_s starts at 1)."""

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        channels, w_dim = int(input_shape[0][-1]), int(input_shape[1][-1])
        self.scale = EqualizedDense(channels, gain=1.0, bias_init=1.0, name="scale")
        self.shift = EqualizedDense(channels, gain=1.0, name="shift")
        self.scale.build((None, w_dim))
        self.shift.build((None, w_dim))

    def call(self, inputs):
        x, w = inputs
        mean, var = ops.moments(x, axes=(1, 2), keepdims=True)
        x = (x - mean) * ops.rsqrt(var + self.epsilon)
        return x * self.scale(w)[:, None, None, :] + self.shift(w)[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PKG)
class ModulatedConv2D(layers.Layer):
    """StyleGAN2's modulated convolution: weights scaled per input channel by the style s = A(w) (init 1), then,
    with `demodulate`, per output channel by 1 / sqrt(sum of the squared scaled weights): the expected output
    statistics are normalized instead of the actual ones (no instance norm, so no droplet artifacts).
    Computed as conv(x * s, W) * d, which equals the convolution with per-example weights; stride 1, "same";
    equalized learning rate (weights N(0, 1), scaled by 1 / sqrt(fan_in) at run time)."""

    def __init__(self, filters: int, kernel_size: int = 3, demodulate: bool = True, epsilon: float = 1e-8,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)
        self.demodulate, self.epsilon = bool(demodulate), float(epsilon)

    def build(self, input_shape):
        channels, w_dim = int(input_shape[0][-1]), int(input_shape[1][-1])
        self.runtime_scale = 1.0 / (self.kernel_size * self.kernel_size * channels) ** 0.5
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, channels, self.filters),
                                      initializer=keras.initializers.RandomNormal(stddev=1.0))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")
        self.affine = EqualizedDense(channels, gain=1.0, bias_init=1.0, name="affine")
        self.affine.build((None, w_dim))

    def call(self, inputs):
        x, w = inputs
        style = self.affine(w)  # [B, C_in]
        kernel = self.kernel * self.runtime_scale
        y = ops.conv(x * style[:, None, None, :], kernel, padding="same")
        if self.demodulate:
            energy = ops.matmul(ops.square(style), ops.sum(ops.square(kernel), axis=(0, 1)))  # [B, F]
            y = y * ops.rsqrt(energy + self.epsilon)[:, None, None, :]
        return y + self.bias

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "demodulate": self.demodulate, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PKG)
class StyleLayer(layers.Layer):
    """One style layer, [x, w, noise_seed] -> x: a 3x3 convolution (modulated by w, or plain and then AdaIN from w),
    per-pixel noise with a learned per-channel strength (added before the style, as in the paper), LeakyReLU."""

    def __init__(self, filters: int, index: int, styles: str = "adain", **kwargs):
        super().__init__(**kwargs)
        self.filters, self.index, self.styles = int(filters), int(index), styles
        modulated = styles == "modulated"
        self.conv = ModulatedConv2D(filters, name="conv") if modulated else EqualizedConv2D(filters, name="conv")
        self.noise = NoiseInput(index, name="noise")
        self.adain = None if modulated else AdaIN(name="adain")

    def build(self, input_shape):
        """Build the parts here, not at the first call: a clone (the EMA shadow) is only traced symbolically."""
        x_shape, w_shape, seed_shape = input_shape
        self.conv.build(x_shape if self.adain is not None else [x_shape, w_shape])
        out_shape = tuple(x_shape[:-1]) + (self.filters,)
        self.noise.build([out_shape, seed_shape])
        if self.adain is not None:
            self.adain.build([out_shape, w_shape])

    def call(self, inputs):
        x, w, seeds = inputs
        x = self.conv(x) if self.adain is not None else self.conv([x, w])
        x = ops.leaky_relu(self.noise([x, seeds]), 0.2)
        return x if self.adain is None else self.adain([x, w])

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "index": self.index, "styles": self.styles}


def to_rgb(channels: int, styles: str, name: str) -> layers.Layer:
    """A 1x1 convolution to the image's channels: modulated (not demodulated) by w in StyleGAN2, plain in StyleGAN."""
    if styles == "modulated":
        return ModulatedConv2D(channels, 1, demodulate=False, name=name)
    return EqualizedConv2D(channels, 1, gain=1.0, name=name)


@keras.saving.register_keras_serializable(package=_PKG)
class ConstantInput(layers.Layer):
    """The learned 4x4 starting tensor, repeated over the batch of the styles it is given."""

    def __init__(self, channels: int, size: int = 4, **kwargs):
        super().__init__(**kwargs)
        self.channels, self.size = int(channels), int(size)

    def build(self, input_shape):
        self.const = self.add_weight(name="const", shape=(self.size, self.size, self.channels),
                                     initializer=keras.initializers.RandomNormal(stddev=1.0))

    def call(self, ws):
        return ops.broadcast_to(self.const[None], (ops.shape(ws)[0], self.size, self.size, self.channels))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, self.channels)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "size": self.size}


@keras.saving.register_keras_serializable(package=_PKG)
class TakeStyle(layers.Layer):
    """ws [B, L, d] -> the style of layer `index`, [B, d]."""

    def __init__(self, index: int, **kwargs):
        super().__init__(**kwargs)
        self.index = int(index)

    def call(self, ws):
        return ws[:, self.index]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "index": self.index}


@keras.saving.register_keras_serializable(package=_PKG)
class Truncation(layers.Layer):
    """w [B, d], psi [B] -> per-layer styles [B, L, d]: w_avg + psi (w - w_avg) on the first `cutoff` layers
    (all when None), w itself on the rest. `w_avg` is state (not trained): `track(w)` moves it toward the batch
    mean of w by EMA, w_avg <- decay w_avg + (1 - decay) mean(w), during training."""

    def __init__(self, num_layers: int, cutoff: int | None = None, decay: float = 0.995, **kwargs):
        super().__init__(**kwargs)
        self.num_layers, self.decay = int(num_layers), float(decay)
        self.cutoff = None if cutoff is None else int(cutoff)

    def build(self, input_shape):
        self.w_avg = self.add_weight(name="w_avg", shape=(int(input_shape[0][-1]),), initializer="zeros",
                                     trainable=False)

    def call(self, inputs):
        w, psi = inputs
        ws = ops.repeat(w[:, None, :], self.num_layers, axis=1)
        avg = ops.cast(self.w_avg, w.dtype)
        truncated = avg + ops.cast(psi, w.dtype)[:, None, None] * (ws - avg)
        cutoff = self.num_layers if self.cutoff is None else self.cutoff
        return ops.where((ops.arange(self.num_layers) < cutoff)[None, :, None], truncated, ws)

    def track(self, w):
        batch_mean = ops.mean(ops.stop_gradient(ops.cast(w, "float32")), axis=0)
        self.w_avg.assign(self.decay * self.w_avg + (1.0 - self.decay) * batch_mean)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.num_layers, input_shape[0][-1])

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers, "cutoff": self.cutoff, "decay": self.decay}


@keras.saving.register_keras_serializable(package=_PKG)
class RepeatStyle(layers.Layer):
    """w [B, d] -> the same style at every layer, [B, L, d]."""

    def __init__(self, num_layers: int, **kwargs):
        super().__init__(**kwargs)
        self.num_layers = int(num_layers)

    def call(self, w):
        return ops.repeat(w[:, None, :], self.num_layers, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_layers, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "num_layers": self.num_layers}


@keras.saving.register_keras_serializable(package=_PKG)
class StyleMix(layers.Layer):
    """The styles of layers < crossover from the first ws, the rest from the second (per example)."""

    def call(self, inputs):
        ws_a, ws_b, crossover = inputs
        layer = ops.arange(ops.shape(ws_a)[1])[None, :, None]
        return ops.where(layer < ops.cast(crossover, "int32")[:, None, None], ws_a, ws_b)

    def compute_output_shape(self, input_shape):
        return input_shape[0]


def mapping_network(latent_dim: int, w_dim: int, depth: int = 8, lr_multiplier: float = 0.01) -> keras.Model:
    z = keras.Input((latent_dim,), name="z")
    x = PixelNorm(name="normalize_z")(z)
    for i in range(depth):
        x = EqualizedDense(w_dim, lr_multiplier=lr_multiplier, name=f"dense{i}")(x)
        x = layers.LeakyReLU(0.2, name=f"act{i}")(x)
    return keras.Model(z, x, name="mapping")


def synthesis_network(resolution: int, channels: int, w_dim: int, width: int, styles: str = "adain",
                      max_channels: int = 512) -> keras.Model:
    """ws [B, L, w_dim] and noise_seed [B] -> image [B, R, R, channels] (tanh)."""
    num = num_style_layers(resolution)
    ws = keras.Input((num, w_dim), name="ws")
    seeds = keras.Input((), dtype="int32", name="noise_seed")
    x = ConstantInput(channels_at(4, resolution, width, max_channels), name="const")(ws)
    rgb = None
    for i, r in enumerate(layer_resolutions(resolution)):
        filters = channels_at(r, resolution, width, max_channels)
        if i % 2 == 0 and r > 4:
            x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{r}")(x)
        w = TakeStyle(i, name=f"style{i}")(ws)
        x = StyleLayer(filters, i, styles, name=f"layer{i}")([x, w, seeds])
        if styles == "modulated" and i % 2 == 1:  # skip architecture: every resolution adds its RGB
            out = to_rgb(channels, styles, f"to_rgb{r}")([x, w])
            rgb = out if rgb is None else layers.Add(name=f"rgb{r}")(
                [layers.UpSampling2D(2, interpolation="bilinear", name=f"rgb_up{r}")(rgb), out])
    if rgb is None:
        rgb = to_rgb(channels, styles, "to_rgb")(x)
    image = layers.Activation("tanh", name="image")(rgb)
    return keras.Model([ws, seeds], image, name="synthesis")


def style_generator(mapping: keras.Model, synthesis: keras.Model, cutoff: int | None = None,
                    w_avg_decay: float = 0.995) -> keras.Model:
    """The served generator: z, psi, noise_seed -> image (mapping, truncation toward w_avg, synthesis)."""
    num = int(synthesis.inputs[0].shape[1])
    z = keras.Input(mapping.inputs[0].shape[1:], name="z")
    psi = keras.Input((), name="psi")
    seeds = keras.Input((), dtype="int32", name="noise_seed")
    ws = Truncation(num, cutoff, w_avg_decay, name="truncation")([mapping(z), psi])
    return keras.Model([z, psi, seeds], synthesis([ws, seeds]), name="generator")


def style_discriminator(image_shape, width: int, max_channels: int = 512, stddev_group: int = 4) -> keras.Model:
    resolution = int(image_shape[0])
    image = keras.Input(tuple(image_shape), name="image")
    x = layers.LeakyReLU(0.2)(EqualizedConv2D(channels_at(resolution, resolution, width, max_channels), 1,
                                              name="from_rgb")(image))
    r = resolution
    while r > 4:
        x = layers.LeakyReLU(0.2)(EqualizedConv2D(channels_at(r, resolution, width, max_channels), name=f"conv{r}a")(x))
        x = layers.LeakyReLU(0.2)(EqualizedConv2D(channels_at(r // 2, resolution, width, max_channels),
                                                  name=f"conv{r}b")(x))
        x = layers.AveragePooling2D(2, name=f"down{r}")(x)
        r //= 2
    x = MinibatchStdDev(stddev_group, name="minibatch_stddev")(x)
    x = layers.LeakyReLU(0.2)(EqualizedConv2D(channels_at(4, resolution, width, max_channels), name="conv4")(x))
    x = layers.Flatten()(x)
    x = layers.LeakyReLU(0.2)(EqualizedDense(channels_at(4, resolution, width, max_channels), name="dense")(x))
    logits = EqualizedDense(1, gain=1.0, name="logits")(x)
    return keras.Model(image, logits, name="discriminator")


@keras.saving.register_keras_serializable(package=_PKG)
class GrowingStyleGenerator(GrowingNetwork):
    """z, psi, noise_seed -> image at the current `resolution` (linear; served upsampled to the target and clipped by
    `kgan.models.growing.Growing.served`): the mapping network and truncation of `style_generator`, then two style
    layers per resolution up to the current one and that resolution's to-RGB; while fading, lerped with the previous
    resolution's to-RGB output, nearest-upsampled (alpha = 0: exactly the previous network)."""

    def __init__(self, latent_dim: int, target_resolution: int, channels: int = 1, width: int = 16,
                 w_dim: int | None = None, styles: str = "adain", max_channels: int = 512, mapping_layers: int = 8,
                 mapping_lr_multiplier: float = 0.01, truncation_cutoff: int | None = None,
                 w_avg_decay: float = 0.995, **kwargs):
        super().__init__(target_resolution, **kwargs)
        self.latent_dim, self.channels, self.width = int(latent_dim), int(channels), int(width)
        self.w_dim, self.styles, self.max_channels = int(w_dim or latent_dim), styles, int(max_channels)
        self.mapping_layers, self.mapping_lr_multiplier = int(mapping_layers), float(mapping_lr_multiplier)
        self.truncation_cutoff, self.w_avg_decay = truncation_cutoff, float(w_avg_decay)
        r = self.target_resolution
        self.mapping = mapping_network(self.latent_dim, self.w_dim, self.mapping_layers, self.mapping_lr_multiplier)
        self.truncation = Truncation(num_style_layers(r), truncation_cutoff, self.w_avg_decay, name="truncation")
        self.const = ConstantInput(channels_at(4, r, self.width, self.max_channels), name="const")
        for i, res in enumerate(layer_resolutions(r)):  # attributes, not lists: what a TF checkpoint sees
            self.add_at("layer", i, StyleLayer(channels_at(res, r, self.width, self.max_channels), i, styles,
                                               name=f"layer{i}"))
        for res in self.levels:
            self.add_at("to_rgb", res, to_rgb(self.channels, styles, f"to_rgb{res}"))
        self.build_all((1, self.latent_dim))

    @property
    def inputs(self):
        return [keras.KerasTensor((None, self.latent_dim), name="z")]

    def call(self, inputs):
        """{"z", "psi", "noise_seed"}, or z alone (psi 1, noise seed 0: how `build_all` builds every resolution)."""
        if not isinstance(inputs, dict):
            n = ops.shape(inputs)[0]
            inputs = {"z": inputs, "psi": ops.ones((n,)), "noise_seed": ops.zeros((n,), "int32")}
        ws = self.truncation([self.mapping(inputs["z"]), inputs["psi"]])
        return self.synthesize(ws, inputs["noise_seed"])

    def synthesize(self, ws, seeds):
        """Per-layer styles [B, L, w_dim] -> the image at the current resolution (faded while `fading`)."""
        x, previous = self.const(ws), None
        for level in range(self.level + 1):
            if level:
                previous, x = x, upsample(x, 2)
            for i in (2 * level, 2 * level + 1):
                x = self.at("layer", i)([x, ws[:, i], seeds])
        image = self._rgb(self.level, x, ws)
        if self.fading:
            image = lerp(upsample(self._rgb(self.level - 1, previous, ws), 2), image, self.alpha)
        return image

    def _rgb(self, level: int, x, ws):
        layer = self.at("to_rgb", self.levels[level])
        return layer([x, ws[:, 2 * level + 1]]) if self.styles == "modulated" else layer(x)

    def compute_output_shape(self, input_shape):
        return (None, self.resolution, self.resolution, self.channels)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "channels": self.channels, "width": self.width,
                "w_dim": self.w_dim, "styles": self.styles, "max_channels": self.max_channels,
                "mapping_layers": self.mapping_layers, "mapping_lr_multiplier": self.mapping_lr_multiplier,
                "truncation_cutoff": self.truncation_cutoff, "w_avg_decay": self.w_avg_decay}
