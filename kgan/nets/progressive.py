"""Networks that grow: one block per resolution 4, 8, ..., target, run at `resolution` with the newest block faded in.

`GrowingNetwork` is the part every growing family shares (ProGAN here; a style-based generator can subclass it):
all blocks of every resolution exist from construction, so a checkpoint holds the same variables whatever
resolution a run has reached (each resolution's layers are attributes, `add_at` / `at`: a TensorFlow checkpoint does
not see layers kept in a Python list, and would silently drop them, e.g. from an EMA shadow that no optimizer holds); `resolution` (a Python int) and `fading` choose the graph, traced again when they
change; `alpha` is a non-trainable weight that the model sets, inside its training step, from the step counter.
While `fading`, the output of the newest block is lerped with the previous resolution's path:
`(1 - alpha) * old + alpha * new`, so alpha = 0 is exactly the previous network (upsampled in G, on the
2x average-pooled input in D) and alpha = 1 exactly the grown one.

ProGAN (Karras et al. 2018, Table 2): G maps pixel-normalized z through a dense 4x4 layer and a 3x3 conv, then per
resolution nearest 2x upsampling and two 3x3 convs, each followed by LeakyReLU(0.2) and pixel norm; toRGB is a 1x1
conv with a linear output. D mirrors it: fromRGB (1x1 conv), per resolution two 3x3 convs and 2x average pooling,
minibatch stddev before the last 3x3 conv at 4x4, a dense layer and a linear logit. Every weight layer has an
equalized learning rate. Channels: `width` at the target resolution, doubling per halving, at most `max_width`.
"""

from __future__ import annotations

import math

import keras
from keras import layers, ops

from kgan import layers as klayers

_PKG = "kgan"


def resolutions(target: int) -> list[int]:
    """4, 8, ..., target (a power of two >= 4)."""
    if target < 4 or target & (target - 1):
        raise ValueError(f"a growing network needs a power-of-two resolution >= 4, got {target}")
    return [4 * 2 ** i for i in range(int(math.log2(target)) - 1)]


def channels_at(resolution: int, target: int, width: int, max_width: int) -> int:
    """Feature maps at `resolution`: `width` at the target, doubling per halving, capped at `max_width`."""
    return min(max_width, width * target // resolution)


def lerp(old, new, alpha):
    """(1 - alpha) old + alpha new: exactly `old` at alpha = 0 and exactly `new` at alpha = 1."""
    alpha = ops.cast(alpha, new.dtype)
    return (1.0 - alpha) * old + alpha * new


def upsample(images, factor: int):
    """Nearest-neighbour upsampling by an integer factor (how a lower resolution is shown at a higher one)."""
    if factor == 1:
        return images
    return ops.repeat(ops.repeat(images, factor, axis=1), factor, axis=2)


def downsample(images, factor: int):
    """Box (average-pool) downsampling by an integer factor: the inverse of `upsample`, and how growing data is
    downscaled (so a lower resolution's images are the 2x average pool of the next one's)."""
    if factor == 1:
        return images
    return ops.average_pool(images, factor, factor, padding="valid")


@keras.saving.register_keras_serializable(package=_PKG)
class GrowingNetwork(keras.Model):
    """Blocks for every resolution up to `target_resolution`; runs at `resolution`, fading in its newest block."""

    def __init__(self, target_resolution: int, **kwargs):
        super().__init__(**kwargs)
        self.target_resolution = int(target_resolution)
        self.levels = resolutions(self.target_resolution)
        self.resolution = self.target_resolution
        self.fading = False
        self.alpha = self.add_weight(shape=(), initializer="ones", trainable=False, name="alpha")

    def add_at(self, kind: str, resolution: int, layer) -> None:
        """Keep `layer` as the attribute `<kind><resolution>`: a TensorFlow checkpoint sees a model's attributes but not
        the layers inside a Python list, so per-resolution layers are attributes, never list items."""
        setattr(self, f"{kind}{resolution}", layer)

    def at(self, kind: str, resolution: int):
        return getattr(self, f"{kind}{resolution}")

    def build(self, input_shape):
        """Nothing to create here: `build_all` makes every resolution's weights when the network is constructed."""

    def set_resolution(self, resolution: int, fading: bool = False) -> None:
        if resolution not in self.levels:
            raise ValueError(f"{self.name}: resolution {resolution} is not one of {self.levels}")
        if fading and resolution == self.levels[0]:
            raise ValueError(f"{self.name}: nothing to fade in at the first resolution {resolution}")
        self.resolution, self.fading = int(resolution), bool(fading)

    @property
    def level(self) -> int:
        return self.levels.index(self.resolution)

    def build_all(self, input_shape) -> None:
        """Create every resolution's weights (a call at each resolution, fading), then go back to the target."""
        for r in self.levels:
            self.set_resolution(r, fading=r > self.levels[0])
            self(ops.zeros(self.input_shape_at(input_shape, r)))
        self.set_resolution(self.target_resolution)

    def input_shape_at(self, input_shape, resolution: int):
        return input_shape

    def get_config(self):
        return {"name": self.name, "target_resolution": self.target_resolution}


def _conv_stack(name: str, filters, kernel: int = 3, norm: bool = False) -> list:
    out = []
    for i, f in enumerate(filters):
        out += [klayers.EqualizedConv2D(f, kernel, name=f"{name}_conv{i}"), layers.LeakyReLU(0.2, name=f"{name}_act{i}")]
        if norm:
            out.append(klayers.PixelNorm(name=f"{name}_norm{i}"))
    return out


def _block(name: str, stack: list) -> keras.Sequential:
    """A resolution's layers as one tracked unit (what a checkpoint and a SavedModel see)."""
    return keras.Sequential(stack, name=name)


@keras.saving.register_keras_serializable(package=_PKG)
class ProganGenerator(GrowingNetwork):
    """z -> image at `resolution` (linear output; the served network clips it to [-1, 1])."""

    def __init__(self, latent_dim: int, target_resolution: int, channels: int = 3, width: int = 16,
                 max_width: int = 256, **kwargs):
        super().__init__(target_resolution, **kwargs)
        self.latent_dim, self.channels, self.width, self.max_width = int(latent_dim), int(channels), int(width), int(max_width)
        c = [channels_at(r, self.target_resolution, self.width, self.max_width) for r in self.levels]
        self.stem = _block("block4", [
            klayers.PixelNorm(name="z_norm"), klayers.EqualizedDense(16 * c[0], gain=2.0 ** 0.5 / 4, name="dense_4x4"),
            layers.Reshape((4, 4, c[0]), name="to_4x4"), layers.LeakyReLU(0.2, name="dense_act"),
            klayers.PixelNorm(name="dense_norm"), *_conv_stack("block4", [c[0]], norm=True)])
        for i, r in enumerate(self.levels):
            if i:
                self.add_at("block", r, _block(f"block{r}", [layers.UpSampling2D(2, interpolation="nearest", name=f"up{r}"),
                                                             *_conv_stack(f"block{r}", [c[i], c[i]], norm=True)]))
            self.add_at("to_rgb", r, klayers.EqualizedConv2D(self.channels, 1, gain=1.0, name=f"to_rgb{r}"))
        self.build_all((1, self.latent_dim))

    @property
    def inputs(self):
        """One input named `z` (how `kgan.models.surface.call_network` feeds a network)."""
        return [keras.KerasTensor((None, self.latent_dim), name="z")]

    def call(self, z):
        x = self.stem(z)
        previous = x
        for r in self.levels[1:self.level + 1]:
            previous, x = x, self.at("block", r)(x)
        image = self.at("to_rgb", self.resolution)(x)
        if self.fading:
            image = lerp(upsample(self.at("to_rgb", self.resolution // 2)(previous), 2), image, self.alpha)
        return image

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.resolution, self.resolution, self.channels)

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "channels": self.channels, "width": self.width,
                "max_width": self.max_width}


@keras.saving.register_keras_serializable(package=_PKG)
class ProganDiscriminator(GrowingNetwork):
    """image at `resolution` -> one logit per example (linear; WGAN critic)."""

    def __init__(self, target_resolution: int, channels: int = 3, width: int = 16, max_width: int = 256,
                 stddev_group: int = 4, **kwargs):
        super().__init__(target_resolution, **kwargs)
        self.channels, self.width, self.max_width = int(channels), int(width), int(max_width)
        self.stddev_group = int(stddev_group)
        c = [channels_at(r, self.target_resolution, self.width, self.max_width) for r in self.levels]
        for i, r in enumerate(self.levels):
            self.add_at("from_rgb", r, _block(f"from_rgb{r}", [klayers.EqualizedConv2D(c[i], 1, name=f"from_rgb{r}_conv"),
                                                               layers.LeakyReLU(0.2, name=f"from_rgb{r}_act")]))
            if i:
                self.add_at("block", r, _block(f"block{r}", [*_conv_stack(f"block{r}", [c[i], c[i - 1]]),
                                                             layers.AveragePooling2D(2, name=f"down{r}")]))
        self.head = _block("block4", [
            klayers.MinibatchStdDev(self.stddev_group, name="minibatch_stddev"), *_conv_stack("block4", [c[0]]),
            layers.Flatten(name="features"), klayers.EqualizedDense(c[0], name="dense"),
            layers.LeakyReLU(0.2, name="dense_act"), klayers.EqualizedDense(1, gain=1.0, name="logits", dtype="float32")])
        self.build_all((2, self.target_resolution, self.target_resolution, self.channels))

    def input_shape_at(self, input_shape, resolution: int):
        return (input_shape[0], resolution, resolution, input_shape[-1])

    @property
    def inputs(self):
        return [keras.KerasTensor((None, None, None, self.channels), name="image")]

    def call(self, images):
        r = self.resolution
        x = self.at("from_rgb", r)(images)
        if r > self.levels[0]:
            x = self.at("block", r)(x)
            if self.fading:
                x = lerp(self.at("from_rgb", r // 2)(downsample(images, 2)), x, self.alpha)
        for lower in reversed(self.levels[1:self.level]):
            x = self.at("block", lower)(x)
        return self.head(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "channels": self.channels, "width": self.width, "max_width": self.max_width,
                "stddev_group": self.stddev_group}
