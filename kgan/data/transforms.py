"""Paired features made from any image source by a named, seeded transform (`data.transform`).

Each transform maps a batch of named features (`image`, `label`) to `source` / `target` (and `mask`),
deterministically for a given seed and position in the stream, so a resumed run sees the same pairs.
Images are float32 in [-1, 1]; `target` is always the image itself.

| transform | `source` |
|---|---|
| `mask`, `mask:box`, `mask:half` | the image with a hole set to -1 (a random box of half the side, or the bottom half) plus the mask as an extra channel (1 in the hole); `mask` = the hole [B, R, R, 1] |
| `downsample:K` | the image average-pooled by K ([R/K, R/K]) |
| `edges` | the Sobel edge magnitude of the image's grayscale, scaled to [-1, 1] (1 channel) |
| `blur:S` | the image blurred by a Gaussian of sigma S pixels (S a number > 0) |
| `colorize` | the grayscale of an RGB image (1 channel; needs data.channels = 3) |
| `label_map:K` | the class label as K constant one-hot planes (needs labelled data) |

Names and arguments are checked without TensorFlow (config load); TensorFlow is imported when a
transform runs.
"""

from __future__ import annotations

from kgan.errors import ConfigError

TRANSFORMS = ("mask", "mask:box", "mask:half", "downsample:K", "edges", "blur:S", "colorize", "label_map:K")


def parse(spec: str, data_cfg) -> tuple[str, str]:
    """(name, argument) of a `data.transform` value; a ConfigError names the key and what is allowed."""
    name, _, arg = spec.partition(":")
    resolution, channels = data_cfg.resolution, data_cfg.channels
    if name == "mask" and arg in ("", "box", "half"):
        return name, arg or "box"
    if name == "downsample" and arg.isdigit() and int(arg) >= 2:
        if resolution % int(arg):
            raise ConfigError(f"data.transform: downsample:{arg} needs data.resolution divisible by {arg}, "
                              f"got {resolution}")
        return name, arg
    if name == "edges" and not arg:
        return name, arg
    if name == "blur" and _positive_number(arg):
        return name, arg
    if name == "colorize" and not arg:
        if channels != 3:
            raise ConfigError("data.transform: colorize maps grayscale to RGB; it needs data.channels = 3")
        return name, arg
    if name == "label_map" and arg.isdigit() and int(arg) >= 2:
        return name, arg
    raise ConfigError(f"data.transform: {spec!r} is not allowed; choose from {list(TRANSFORMS)} "
                      "(K an integer >= 2, S a number > 0)")


def _positive_number(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def source_shape(spec: str, data_cfg) -> tuple[int, int, int]:
    """Per-example shape of the `source` a transform makes (TensorFlow-free: models size their inputs by it)."""
    name, arg = parse(spec, data_cfg)
    r, c = data_cfg.resolution, data_cfg.channels
    if name == "downsample":
        return (r // int(arg), r // int(arg), c)
    if name == "label_map":
        return (r, r, int(arg))
    return (r, r, {"mask": c + 1, "edges": 1, "blur": c, "colorize": 1}[name])


def feature_names(spec: str) -> tuple[str, ...]:
    """The features a transform adds (empty when `spec` is empty)."""
    if not spec:
        return ()
    return ("source", "target", "mask") if spec.partition(":")[0] == "mask" else ("source", "target")


def apply(spec: str, data_cfg, features: dict, seed) -> dict:
    """The transformed batch; `seed` is a [2] int tensor unique to the batch's position in the stream."""
    name, arg = parse(spec, data_cfg)
    return {**features, **_APPLY[name](features, arg, seed), "target": features["image"]}


# ----- the transforms (TensorFlow imported on use) ---------------------------------------------------------------
def _mask(features, arg, seed):
    import tensorflow as tf

    image = features["image"]
    size = image.shape[1]
    rows = tf.range(size)[None, :, None]
    cols = tf.range(image.shape[2])[None, None, :]
    if arg == "half":
        inside = tf.broadcast_to(rows >= size // 2, [tf.shape(image)[0], size, image.shape[2]])
    else:
        side = size // 2
        corner = tf.random.stateless_uniform([tf.shape(image)[0], 2], seed=seed, maxval=size - side + 1,
                                             dtype=tf.int32)
        inside = ((rows >= corner[:, :1, None]) & (rows < corner[:, :1, None] + side)
                  & (cols >= corner[:, 1:, None]) & (cols < corner[:, 1:, None] + side))
    mask = tf.cast(inside, image.dtype)[..., None]
    masked = image * (1.0 - mask) - mask
    return {"source": tf.concat([masked, mask], axis=-1), "mask": mask}


def _downsample(features, arg, seed):
    import tensorflow as tf

    k = int(arg)
    return {"source": tf.nn.avg_pool2d(features["image"], k, k, "VALID")}


def _grayscale(image):
    import tensorflow as tf

    return tf.image.rgb_to_grayscale(image) if image.shape[-1] == 3 else image


def _edges(features, arg, seed):
    import tensorflow as tf

    gray = _grayscale(features["image"])
    sobel = tf.image.sobel_edges(gray)  # [B, H, W, 1, 2]
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(sobel), axis=-1) + 1e-12)
    peak = tf.reduce_max(magnitude, axis=[1, 2, 3], keepdims=True) + 1e-6
    return {"source": 2.0 * magnitude / peak - 1.0}


def _blur(features, arg, seed):
    import tensorflow as tf

    sigma = float(arg)
    radius = max(1, int(round(3 * sigma)))
    x = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-0.5 * tf.square(x / sigma))
    kernel /= tf.reduce_sum(kernel)
    image = features["image"]
    channels = image.shape[-1]
    k = tf.tile(kernel[:, None, None, None], [1, 1, channels, 1])
    padded = tf.pad(image, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    blurred = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
    blurred = tf.nn.depthwise_conv2d(blurred, tf.transpose(k, [1, 0, 2, 3]), [1, 1, 1, 1], "VALID")
    return {"source": blurred}


def _colorize(features, arg, seed):
    return {"source": _grayscale(features["image"])}


def _label_map(features, arg, seed):
    import tensorflow as tf

    image, k = features["image"], int(arg)
    onehot = tf.one_hot(tf.cast(features["label"], tf.int32), k) * 2.0 - 1.0  # a label of -1: all planes at -1
    return {"source": tf.broadcast_to(onehot[:, None, None, :], [tf.shape(image)[0], image.shape[1], image.shape[2], k])}


_APPLY = {"mask": _mask, "downsample": _downsample, "edges": _edges, "blur": _blur, "colorize": _colorize,
          "label_map": _label_map}
