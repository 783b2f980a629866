"""Paired features made from any image source by a named, seeded transform (`data.transform`).

Each transform maps a batch of named features (`image`, `label`) to `source` / `target` (and `mask`,
`blur_kernel`), deterministically for a given seed and position in the stream, so a resumed run sees the
same pairs. Images are float32 in [-1, 1]; `target` is always the image itself.

| transform | `source` |
|---|---|
| `mask`, `mask:box`, `mask:half` | the image with a hole set to -1 (a random box of half the side, or the bottom half) plus the mask as an extra channel (1 in the hole); `mask` = the hole [B, R, R, 1] |
| `downsample:K`, `downsample:K:area` | the image average-pooled by K ([R/K, R/K]) |
| `downsample:K:bicubic` | the image resized to R/K by antialiased bicubic interpolation |
| `downsample:K:gaussian` | the image blurred by a Gaussian of sigma 0.375 K (half response at the new Nyquist frequency), then every K-th pixel |
| `edges` | the Sobel edge magnitude of the image's grayscale, scaled to [-1, 1] (1 channel) |
| `blur:S`, `blur:gaussian:S` | the image blurred by a Gaussian of sigma S pixels (S a number > 0) |
| `blur:motion[:L]` | the image blurred by a random straight line (length U[L/4, L-1] px, any angle), antialiased, in an L x L kernel |
| `blur:trajectory[:L]` | the image blurred by a random camera-shake path (Boracchi & Foi 2012, as DeblurGAN draws them: a random walk with inertia, a pull to the start and impulsive reversals) of length U[L/4, L-1] px, antialiased, in an L x L kernel |
| `colorize` | the grayscale of an RGB image (1 channel; needs data.channels = 3) |
| `label_map:K` | the class label as K constant one-hot planes (needs labelled data) |

`downsample` and `blur` take degradation options, each at most once, applied after the base transform
in a camera's order, noise before compression: `+noise:S` adds Gaussian noise of standard deviation S on the [0, 1] intensity scale
(0.02 is about 5/255), clipped to the range; `+jpeg:Q` round-trips each image through JPEG at quality Q
(1..100). E.g. `blur:motion+noise:0.01+jpeg:75`, `downsample:4:bicubic+noise:0.02`.

Blur transforms also emit `blur_kernel` [B, L, L]: the convolution kernel (point spread function, sums to
one) each `source` was blurred with, so evaluation can score a Wiener deconvolution with the true kernel
(`kgan.metrics.restoration`). L defaults to the largest odd number <= R/4 (at least 3): 7 px at 28 px,
31 at 128. Images are padded by reflection before blurring. Every random draw is stateless, from the
batch's seed (`data` seed, batch position), so the same seed gives the same kernels and noise.

Names and arguments are checked without TensorFlow (config load); TensorFlow is imported when a
transform runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kgan.errors import ConfigError

TRANSFORMS = ("mask", "mask:box", "mask:half", "downsample:K[:area|bicubic|gaussian]", "edges",
              "blur:S", "blur:gaussian:S", "blur:motion[:L]", "blur:trajectory[:L]", "colorize", "label_map:K")
OPTIONS = ("noise:S", "jpeg:Q")
DOWNSAMPLE_KERNELS = ("area", "bicubic", "gaussian")
BLUR_KINDS = ("gaussian", "motion", "trajectory")
DEGRADATIONS = ("downsample", "blur")  # the transforms that take +noise / +jpeg
_HELP = ("K an integer >= 2, S a number > 0, L an odd kernel side >= 3 and <= R/2; downsample and blur take "
         "options +noise:S (S in (0, 1]) and +jpeg:Q (Q in 1..100)")


@dataclass(frozen=True)
class Transform:
    """A parsed `data.transform`: the base transform's `name` and `arg` (the mask kind, K, sigma, ...), the
    kernel `kind` of downsample/blur, the blur kernel side `size`, and the options `noise` (sigma on [0, 1],
    0 = none) and `jpeg` (quality, 0 = none)."""

    name: str
    arg: str = ""
    kind: str = ""
    size: int = 0
    noise: float = 0.0
    jpeg: int = 0


def default_kernel_size(resolution: int) -> int:
    """The largest odd side <= R/4, at least 3 (DeblurGAN's kernels span up to about a quarter of the image)."""
    side = max(3, resolution // 4)
    return side if side % 2 else side - 1


def parse(spec: str, data_cfg) -> Transform:
    """The `Transform` of a `data.transform` value; a ConfigError names the key and what is allowed."""
    base, *options = spec.split("+")
    transform = _parse_base(spec, base, data_cfg)
    if options and transform.name not in DEGRADATIONS:
        raise ConfigError(f"data.transform: {spec!r}: options (+{options[0]}) apply only to "
                          f"{' and '.join(DEGRADATIONS)}")
    noise, jpeg = 0.0, 0
    for option in options:
        key, _, value = option.partition(":")
        if key == "noise" and _positive_number(value) and float(value) <= 1 and not noise:
            noise = float(value)
        elif key == "jpeg" and value.isdigit() and 1 <= int(value) <= 100 and not jpeg:
            jpeg = int(value)
        else:
            raise ConfigError(f"data.transform: option {option!r} of {spec!r} is not allowed (each at most "
                              f"once); choose from {list(OPTIONS)} ({_HELP})")
    return Transform(transform.name, transform.arg, transform.kind, transform.size, noise, jpeg)


def _parse_base(spec: str, base: str, data_cfg) -> Transform:
    name, _, arg = base.partition(":")
    resolution, channels = data_cfg.resolution, data_cfg.channels
    if name == "mask" and arg in ("", "box", "half"):
        return Transform(name, arg or "box")
    if name == "downsample":
        factor, _, kind = arg.partition(":")
        if factor.isdigit() and int(factor) >= 2 and kind in ("",) + DOWNSAMPLE_KERNELS:
            if resolution % int(factor):
                raise ConfigError(f"data.transform: downsample:{factor} needs data.resolution divisible by "
                                  f"{factor}, got {resolution}")
            return Transform(name, factor, kind or "area")
    if name == "edges" and not arg:
        return Transform(name)
    if name == "blur":
        blur = _parse_blur(arg, resolution)
        if blur is not None:
            return blur
    if name == "colorize" and not arg:
        if channels != 3:
            raise ConfigError("data.transform: colorize maps grayscale to RGB; it needs data.channels = 3")
        return Transform(name)
    if name == "label_map" and arg.isdigit() and int(arg) >= 2:
        return Transform(name, arg)
    raise ConfigError(f"data.transform: {spec!r} is not allowed; choose from {list(TRANSFORMS)} ({_HELP})")


def _parse_blur(arg: str, resolution: int) -> Transform | None:
    """`blur:S`, `blur:gaussian:S`, `blur:motion[:L]`, `blur:trajectory[:L]`; None when malformed."""
    kind, _, rest = arg.partition(":")
    if _positive_number(arg):
        kind, rest = "gaussian", arg
    if kind == "gaussian" and _positive_number(rest):
        radius = gaussian_radius(float(rest))
        if radius >= resolution:  # reflection padding needs a radius below the image side
            raise ConfigError(f"data.transform: blur sigma {rest} needs a kernel radius of {radius} px, not below "
                              f"data.resolution = {resolution}; use a smaller sigma")
        return Transform("blur", rest, "gaussian", 2 * radius + 1)
    if kind in ("motion", "trajectory"):
        if not rest:
            return Transform("blur", "", kind, default_kernel_size(resolution))
        if rest.isdigit() and int(rest) % 2 and 3 <= int(rest) <= resolution // 2:
            return Transform("blur", rest, kind, int(rest))
    return None


def gaussian_radius(sigma: float) -> int:
    return max(1, int(round(3 * sigma)))


def _positive_number(text: str) -> bool:
    try:
        return math.isfinite(float(text)) and float(text) > 0
    except ValueError:
        return False


def source_shape(spec: str, data_cfg) -> tuple[int, int, int]:
    """Per-example shape of the `source` a transform makes (TensorFlow-free: models size their inputs by it)."""
    t = parse(spec, data_cfg)
    r, c = data_cfg.resolution, data_cfg.channels
    if t.name == "downsample":
        return (r // int(t.arg), r // int(t.arg), c)
    if t.name == "label_map":
        return (r, r, int(t.arg))
    return (r, r, {"mask": c + 1, "edges": 1, "blur": c, "colorize": 1}[t.name])


def feature_names(spec: str) -> tuple[str, ...]:
    """The features a transform adds (empty when `spec` is empty)."""
    if not spec:
        return ()
    extra = {"mask": ("mask",), "blur": ("blur_kernel",)}.get(spec.partition(":")[0].partition("+")[0], ())
    return ("source", "target") + extra


def apply(spec: str, data_cfg, features: dict, seed) -> dict:
    """The transformed batch; `seed` is a [2] int tensor unique to the batch's position in the stream."""
    t = parse(spec, data_cfg)
    made = _APPLY[t.name](features, t, seed)
    if t.noise:
        made["source"] = _add_noise(made["source"], t.noise, seed)
    if t.jpeg:
        made["source"] = _jpeg(made["source"], t.jpeg)
    return {**features, **made, "target": features["image"]}


# ----- the transforms (TensorFlow imported on use) ---------------------------------------------------------------
def _mask(features, t, seed):
    import tensorflow as tf

    image = features["image"]
    size = image.shape[1]
    rows = tf.range(size)[None, :, None]
    cols = tf.range(image.shape[2])[None, None, :]
    if t.arg == "half":
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


def _downsample(features, t, seed):
    import tensorflow as tf

    from kgan.data import kernels

    k, image = int(t.arg), features["image"]
    if t.kind == "bicubic":
        resized = tf.image.resize(image, (image.shape[1] // k, image.shape[2] // k), method="bicubic", antialias=True)
        return {"source": tf.clip_by_value(resized, -1.0, 1.0)}  # the cubic's lobes overshoot at edges
    if t.kind == "gaussian":  # sampled at each block's centre, so it lines up with area pooling
        radius = gaussian_radius(0.375 * k)
        taps = kernels.gaussian_taps(0.375 * k, 2 * radius + 1 + (k + 1) % 2)
        pad = (taps.shape[0] - k) // 2
        padded = tf.pad(image, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
        filters = tf.tile((taps[:, None] * taps[None, :])[:, :, None, None], [1, 1, image.shape[-1], 1])
        return {"source": tf.nn.depthwise_conv2d(padded, filters, [1, k, k, 1], "VALID")}
    return {"source": tf.nn.avg_pool2d(image, k, k, "VALID")}


def _grayscale(image):
    import tensorflow as tf

    return tf.image.rgb_to_grayscale(image) if image.shape[-1] == 3 else image


def _edges(features, t, seed):
    import tensorflow as tf

    gray = _grayscale(features["image"])
    sobel = tf.image.sobel_edges(gray)  # [B, H, W, 1, 2]
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(sobel), axis=-1) + 1e-12)
    peak = tf.reduce_max(magnitude, axis=[1, 2, 3], keepdims=True) + 1e-6
    return {"source": 2.0 * magnitude / peak - 1.0}


def _blur(features, t, seed):
    import tensorflow as tf

    from kgan.data import kernels

    image = features["image"]
    batch = tf.shape(image)[0]
    if t.kind == "motion":
        drawn = kernels.motion_kernels(seed, batch, t.size)
        return {"source": kernels.convolve(image, drawn), "blur_kernel": drawn}
    if t.kind == "trajectory":
        drawn = kernels.trajectory_kernels(seed, batch, t.size)
        return {"source": kernels.convolve(image, drawn), "blur_kernel": drawn}
    radius = t.size // 2  # a Gaussian is separable: two 1-D passes
    taps = kernels.gaussian_taps(float(t.arg), t.size)
    k = tf.tile(taps[:, None, None, None], [1, 1, image.shape[-1], 1])
    padded = tf.pad(image, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    blurred = tf.nn.depthwise_conv2d(padded, k, [1, 1, 1, 1], "VALID")
    blurred = tf.nn.depthwise_conv2d(blurred, tf.transpose(k, [1, 0, 2, 3]), [1, 1, 1, 1], "VALID")
    kernel = tf.broadcast_to(taps[:, None] * taps[None, :], [batch, t.size, t.size])
    return {"source": blurred, "blur_kernel": kernel}


def _colorize(features, t, seed):
    return {"source": _grayscale(features["image"])}


def _label_map(features, t, seed):
    import tensorflow as tf

    image, k = features["image"], int(t.arg)
    onehot = tf.one_hot(tf.cast(features["label"], tf.int32), k) * 2.0 - 1.0  # a label of -1: all planes at -1
    return {"source": tf.broadcast_to(onehot[:, None, None, :], [tf.shape(image)[0], image.shape[1], image.shape[2], k])}


def _add_noise(source, sigma: float, seed):
    """Gaussian noise of std `sigma` on [0, 1] (2 sigma in [-1, 1] units), clipped like a sensor clips."""
    import tensorflow as tf

    noise_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 17)
    noisy = source + 2.0 * sigma * tf.random.stateless_normal(tf.shape(source), noise_seed)
    return tf.clip_by_value(noisy, -1.0, 1.0)


def _jpeg(source, quality: int):
    """Each image encoded and decoded as JPEG at `quality` (8x8 DCT blocks quantized, chroma subsampled)."""
    import tensorflow as tf

    as_unit = tf.clip_by_value((source + 1.0) / 2.0, 0.0, 1.0)
    decoded = tf.map_fn(lambda image: tf.image.adjust_jpeg_quality(image, quality), as_unit)
    return tf.ensure_shape(decoded, source.shape) * 2.0 - 1.0


_APPLY = {"mask": _mask, "downsample": _downsample, "edges": _edges, "blur": _blur, "colorize": _colorize,
          "label_map": _label_map}
