"""Custom Keras layers for conditioning and discriminator tricks (all serializable, package "kgan").

- `OneHot`: int labels -> one-hot vectors, or one-hot maps broadcast over an image (CGAN "concat").
- `LabelCheck`: passes labels through, failing with a message naming the range when one is outside
  [0, num_classes) (also inside an exported SavedModel).
- `Projection`: the projection discriminator term <embed(y), phi(x)> (Miyato & Koyama 2018).
- `MinibatchDiscrimination`: Salimans et al. 2016, sec. 3.2: o(x_i)_b = sum_{j != i} exp(-||M_i,b - M_j,b||_1),
  M = f(x) T reshaped to [N, B, C]; output concat(f(x), o(x)).
- `MinibatchStdDev`: ProGAN (Karras et al. 2018, sec. 3): the standard deviation of every feature over
  a group of the minibatch, averaged to one scalar per group and appended as one more feature / channel.
- `ReferenceBatch`, `VirtualBatchNormalization`, `DropReference`: virtual batch normalization
  (Salimans et al. 2016, sec. 3.4): each example is normalized with statistics of a reference batch
  chosen once, at the start of training, and of the example itself. `ReferenceBatch` sits at the
  discriminator's input: it stores the first batch it sees in training (the engine's first D call is
  on real data) and prepends it to every batch, so the reference statistics are recomputed with the
  current weights at every layer, as in the paper; each `VirtualBatchNormalization` takes its
  statistics from those first `reference_size` rows; `DropReference` removes them again.
- `SelfAttention`: SAGAN (Zhang et al. 2019): y = gamma * softmax(f(x)^T g(x)) h(x) + x, gamma starts at 0.
- `ReflectionPad2D`: mirror padding of height and width (CycleGAN's generators).
- `EqualizedDense`, `EqualizedConv2D`: equalized learning rate (ProGAN, Karras et al. 2018, sec. 4.1): weights
  are stored as N(0, 1/lr_multiplier) draws and multiplied by gain / sqrt(fan_in) * lr_multiplier at run
  time, so Adam's per-parameter step moves every layer at the same relative speed (StyleGAN's mapping
  network trains at lr_multiplier 0.01 this way).
- `PixelNorm`: ProGAN's pixelwise feature vector normalization, x / sqrt(mean over channels of x^2 + eps).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

_PKG = "kgan"


@keras.saving.register_keras_serializable(package=_PKG)
class OneHot(layers.Layer):
    """[B] int labels -> [B, K] one-hot, or [B, H, W, K] maps when `spatial = (H, W)`."""

    def __init__(self, num_classes: int, spatial=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.spatial = tuple(spatial) if spatial else None

    def call(self, labels):
        onehot = ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype=self.compute_dtype)
        if self.spatial is None:
            return onehot
        h, w = self.spatial
        return ops.broadcast_to(onehot[:, None, None, :], (ops.shape(onehot)[0], h, w, self.num_classes))

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + (self.spatial or ()) + (self.num_classes,)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "spatial": self.spatial}


@keras.saving.register_keras_serializable(package=_PKG)
class LabelCheck(layers.Layer):
    """Identity on int32 labels that asserts 0 <= label < num_classes (message names the range)."""

    def __init__(self, num_classes: int, what: str = "label", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.what = what

    def call(self, labels):
        labels = tf.convert_to_tensor(labels)
        message = f"{self.what} must be an int in [0, {self.num_classes}) (num_classes = {self.num_classes})"
        checks = [tf.debugging.assert_greater_equal(labels, tf.zeros((), labels.dtype), message=message),
                  tf.debugging.assert_less(labels, tf.constant(self.num_classes, labels.dtype), message=message)]
        with tf.control_dependencies(checks):
            return tf.identity(labels)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "what": self.what}


@keras.saving.register_keras_serializable(package=_PKG)
class Projection(layers.Layer):
    """[features [B, F], labels [B]] -> [B, 1] = sum_f embed(y)_f * features_f."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)

    def build(self, input_shape):
        features_shape = input_shape[0]
        self.embeddings = self.add_weight(shape=(self.num_classes, int(features_shape[-1])),
                                          initializer="glorot_uniform", name="embeddings")

    def call(self, inputs):
        features, labels = inputs
        embedded = ops.take(self.embeddings, ops.cast(labels, "int32"), axis=0)
        return ops.sum(ops.cast(embedded, features.dtype) * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package=_PKG)
class MinibatchDiscrimination(layers.Layer):
    """Salimans et al. 2016: append `num_kernels` closeness-to-the-rest-of-the-batch features."""

    def __init__(self, num_kernels: int = 100, kernel_dim: int = 5, **kwargs):
        super().__init__(**kwargs)
        self.num_kernels = int(num_kernels)
        self.kernel_dim = int(kernel_dim)

    def build(self, input_shape):
        self.T = self.add_weight(shape=(int(input_shape[-1]), self.num_kernels * self.kernel_dim),
                                 initializer=keras.initializers.RandomNormal(stddev=0.05), name="T")

    def call(self, features):
        m = ops.reshape(ops.matmul(features, ops.cast(self.T, features.dtype)),
                        (-1, self.num_kernels, self.kernel_dim))
        l1 = ops.sum(ops.abs(m[:, None, :, :] - m[None, :, :, :]), axis=-1)  # [N, N, B]
        o = ops.sum(ops.exp(-l1), axis=1) - 1.0  # sum over j != i (exp(0) = 1 for j = i)
        return ops.concatenate([features, o], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (int(input_shape[-1]) + self.num_kernels,)

    def get_config(self):
        return {**super().get_config(), "num_kernels": self.num_kernels, "kernel_dim": self.kernel_dim}


@keras.saving.register_keras_serializable(package=_PKG)
class MinibatchStdDev(layers.Layer):
    """ProGAN: append the mean over features of the per-feature std over a group of the minibatch.

    `group_size` examples share one statistic (ProGAN: 4; example i belongs to group i mod (N / G)); when
    the batch is not divisible by it, or `group_size` is 0, the whole batch is one group.
    """

    def __init__(self, group_size: int = 4, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.group_size = int(group_size)
        self.epsilon = float(epsilon)

    def call(self, x):
        n = tf.shape(x)[0]
        if self.group_size > 0:
            g = tf.where(tf.equal(n % self.group_size, 0), tf.minimum(self.group_size, n), n)
        else:
            g = n
        grouped = tf.reshape(x, tf.concat([tf.stack([g, n // g]), tf.shape(x)[1:]], axis=0))
        mean = ops.mean(grouped, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(grouped - mean), axis=0) + self.epsilon)  # [N/G, ...]
        stat = tf.reduce_mean(tf.reshape(std, tf.stack([n // g, -1])), axis=-1)  # [N/G]
        stat = tf.tile(stat, tf.reshape(g, [1]))  # row r of the reshaped batch is example r: group r mod (N/G)
        ones = ops.ones_like(x[..., :1])
        return ops.concatenate([x, ops.cast(ops.reshape(stat, (-1,) + (1,) * (len(x.shape) - 1)), x.dtype) * ones],
                               axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (int(input_shape[-1]) + 1,)

    def get_config(self):
        return {**super().get_config(), "group_size": self.group_size, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package=_PKG)
class ReferenceBatch(layers.Layer):
    """Stores the first training batch (its first `size` rows, cycled when smaller) and prepends it."""

    def __init__(self, size: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def build(self, input_shape):
        self.reference = self.add_weight(shape=(self.size,) + tuple(int(d) for d in input_shape[1:]),
                                         initializer="zeros", trainable=False, name="reference")
        self.initialized = self.add_weight(shape=(), initializer="zeros", trainable=False, name="initialized")

    def _take(self, x):
        return ops.take(x, ops.arange(self.size) % ops.shape(x)[0], axis=0)

    def call(self, x, training=False):
        x = ops.cast(x, self.compute_dtype)
        if training:
            def store():
                self.reference.assign(ops.cast(self._take(x), self.reference.dtype))
                self.initialized.assign(1.0)
                return tf.identity(self.reference.value)

            ref = tf.cond(self.initialized > 0, lambda: tf.identity(self.reference.value), store)
        else:  # never trained: the batch is its own reference
            ref = tf.cond(self.initialized > 0, lambda: tf.identity(self.reference.value), lambda: self._take(x))
        return ops.concatenate([ops.cast(ref, x.dtype), x], axis=0)

    def set_reference(self, batch):
        """Fix the reference batch explicitly (instead of the first training batch)."""
        batch = ops.convert_to_tensor(batch, self.reference.dtype)
        self.reference.assign(self._take(batch))
        self.initialized.assign(1.0)

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package=_PKG)
class DropReference(layers.Layer):
    """Removes the reference rows prepended by `ReferenceBatch`."""

    def __init__(self, size: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, x):
        return x[self.size:]

    def compute_output_shape(self, input_shape):
        return (None,) + tuple(input_shape[1:])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package=_PKG)
class VirtualBatchNormalization(layers.Layer):
    """Normalize with the statistics of the first `reference_size` rows (the reference batch).

    Example i (not in the reference) uses mean = (R * mu_ref + m_i) / (R + 1) and the matching second
    moment, where m_i is its own mean over the spatial axes (Salimans et al.: the reference batch "and x
    itself"); `include_self = False` uses the reference statistics alone. Reference rows use mu_ref.
    Statistics are per channel (last axis), over batch and spatial axes. Learned scale and offset.
    """

    def __init__(self, reference_size: int = 32, epsilon: float = 1e-5, include_self: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.reference_size = int(reference_size)
        self.epsilon = float(epsilon)
        self.include_self = bool(include_self)

    def build(self, input_shape):
        c = int(input_shape[-1])
        self.gamma = self.add_weight(shape=(c,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(c,), initializer="zeros", name="beta")

    def call(self, x):
        r = self.reference_size
        spatial = tuple(range(1, len(x.shape) - 1))
        ref, rest = x[:r], x[r:]
        ref_mean = ops.mean(ref, axis=(0,) + spatial)
        ref_sq = ops.mean(ops.square(ref), axis=(0,) + spatial)
        if self.include_self:
            own_mean = ops.mean(rest, axis=spatial, keepdims=True) if spatial else rest
            own_sq = ops.mean(ops.square(rest), axis=spatial, keepdims=True) if spatial else ops.square(rest)
            mean = (r * ref_mean + own_mean) / (r + 1.0)
            sq = (r * ref_sq + own_sq) / (r + 1.0)
        else:
            mean, sq = ref_mean, ref_sq
        var = ops.maximum(sq - ops.square(mean), 0.0)
        gamma, beta = ops.cast(self.gamma, x.dtype), ops.cast(self.beta, x.dtype)
        ref_out = (ref - ref_mean) * ops.rsqrt(ops.maximum(ref_sq - ops.square(ref_mean), 0.0) + self.epsilon)
        rest_out = (rest - mean) * ops.rsqrt(var + self.epsilon)
        return ops.concatenate([ref_out, rest_out], axis=0) * gamma + beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "reference_size": self.reference_size, "epsilon": self.epsilon,
                "include_self": self.include_self}


@keras.saving.register_keras_serializable(package=_PKG)
class SelfAttention(layers.Layer):
    """SAGAN self-attention over the H*W positions of a feature map (1x1 convs, C/8 key channels)."""

    def __init__(self, key_ratio: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.key_ratio = int(key_ratio)

    def build(self, input_shape):
        c = int(input_shape[-1])
        k = max(1, c // self.key_ratio)
        self.f = layers.Conv2D(k, 1, name="query")
        self.g = layers.Conv2D(k, 1, name="key")
        self.h = layers.Conv2D(c, 1, name="value")
        for conv, channels in ((self.f, c), (self.g, c), (self.h, c)):
            conv.build(tuple(input_shape[:-1]) + (channels,))
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, x):
        shape = ops.shape(x)
        n = shape[1] * shape[2]
        q = ops.reshape(self.f(x), (shape[0], n, -1))
        k = ops.reshape(self.g(x), (shape[0], n, -1))
        v = ops.reshape(self.h(x), (shape[0], n, -1))
        attention = ops.softmax(ops.matmul(q, ops.transpose(k, (0, 2, 1))), axis=-1)  # [B, N, N]
        o = ops.reshape(ops.matmul(attention, v), shape)
        return ops.cast(self.gamma, x.dtype) * o + x

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "key_ratio": self.key_ratio}


@keras.saving.register_keras_serializable(package=_PKG)
class InferenceDropout(layers.Dropout):
    """Dropout that can stay on at inference: pix2pix's only noise source ("we apply dropout at test time"),
    so one input can give several outputs; `at_inference=False` is plain dropout."""

    def __init__(self, rate, at_inference: bool = True, **kwargs):
        super().__init__(rate, **kwargs)
        self.at_inference = bool(at_inference)

    def call(self, inputs, training=False):
        return super().call(inputs, training=True if self.at_inference else training)

    def get_config(self):
        return {**super().get_config(), "at_inference": self.at_inference}


@keras.saving.register_keras_serializable(package=_PKG)
class ReflectionPad2D(layers.Layer):
    """Pads height and width by `pad` pixels mirrored at the border (no edge pixel repeated): CycleGAN's
    generators pad this way so the 7x7 and 3x3 convolutions see image content, not zeros, at the border."""

    def __init__(self, pad: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.pad = int(pad)

    def call(self, inputs):
        p = self.pad
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        b, h, w, c = input_shape
        grow = lambda d: None if d is None else d + 2 * self.pad  # noqa: E731
        return (b, grow(h), grow(w), c)

    def get_config(self):
        return {**super().get_config(), "pad": self.pad}


class _Equalized(layers.Layer):
    """Shared weight handling of the equalized-learning-rate layers: unscaled storage, run-time scale."""

    def __init__(self, gain: float = 2.0 ** 0.5, lr_multiplier: float = 1.0, use_bias: bool = True,
                 bias_init: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.gain, self.lr_multiplier = float(gain), float(lr_multiplier)
        self.use_bias, self.bias_init = bool(use_bias), float(bias_init)

    def _build_weights(self, kernel_shape, fan_in: int, units: int):
        self.runtime_scale = self.gain / fan_in ** 0.5 * self.lr_multiplier
        self.kernel = self.add_weight(name="kernel", shape=kernel_shape,
                                      initializer=keras.initializers.RandomNormal(stddev=1.0 / self.lr_multiplier))
        self.bias = self.add_weight(name="bias", shape=(units,),
                                    initializer=keras.initializers.Constant(self.bias_init / self.lr_multiplier)
                                    ) if self.use_bias else None

    def _add_bias(self, y):
        return y if self.bias is None else y + ops.cast(self.bias * self.lr_multiplier, y.dtype)

    def get_config(self):
        return {**super().get_config(), "gain": self.gain, "lr_multiplier": self.lr_multiplier,
                "use_bias": self.use_bias, "bias_init": self.bias_init}


@keras.saving.register_keras_serializable(package=_PKG)
class EqualizedDense(_Equalized):
    """Dense layer with equalized learning rate: y = x (W * gain / sqrt(fan_in) * lr_multiplier) + b * lr_multiplier."""

    def __init__(self, units: int, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        fan_in = int(input_shape[-1])
        self._build_weights((fan_in, self.units), fan_in, self.units)

    def call(self, x):
        return self._add_bias(ops.matmul(x, ops.cast(self.kernel * self.runtime_scale, x.dtype)))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package=_PKG)
class EqualizedConv2D(_Equalized):
    """Stride-1 "same" convolution with equalized learning rate (fan_in = kernel_size^2 * input channels)."""

    def __init__(self, filters: int, kernel_size: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size = int(filters), int(kernel_size)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self._build_weights((self.kernel_size, self.kernel_size, channels, self.filters),
                            self.kernel_size * self.kernel_size * channels, self.filters)

    def call(self, x):
        return self._add_bias(ops.conv(x, ops.cast(self.kernel * self.runtime_scale, x.dtype), padding="same"))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package=_PKG)
class PixelNorm(layers.Layer):
    """ProGAN's pixel norm: every spatial position's feature vector scaled to unit root-mean-square."""

    def __init__(self, epsilon: float = 1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = float(epsilon)

    def call(self, x):
        return x * ops.rsqrt(ops.mean(ops.square(x), axis=-1, keepdims=True) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
