"""Paired features made from any image source by a named, seeded transform (`data.transform`).

Each transform maps a batch of named features (`image`, `label`) to more features, deterministically
for a given seed and position in the stream (so a resumed run sees the same pairs):
- `mask`: inpainting; `source` = the image with a random box (half the side) set to -1, plus the mask
  as an extra channel (1 inside the hole); `target` = the image; `mask` = the hole [B, R, R, 1].
- `downsample:K`: super-resolution; `source` = the image average-pooled by K ([R/K, R/K]); `target` = the
  image.
Names and arguments are checked without TensorFlow (config load); TensorFlow is imported when a
transform runs.
"""

from __future__ import annotations

from kgan.errors import ConfigError

TRANSFORMS = ("mask", "downsample:K")


def parse(spec: str, resolution: int) -> tuple[str, int]:
    """(name, argument) of a `data.transform` value; a ConfigError names the key and what is allowed."""
    name, _, arg = spec.partition(":")
    if name == "mask" and not arg:
        return name, 0
    if name == "downsample" and arg.isdigit() and int(arg) >= 2:
        if resolution % int(arg):
            raise ConfigError(f"data.transform: downsample:{arg} needs data.resolution divisible by {arg}, "
                              f"got {resolution}")
        return name, int(arg)
    raise ConfigError(f"data.transform: {spec!r} is not allowed; choose from {list(TRANSFORMS)} "
                      "(K an integer >= 2)")


def feature_names(spec: str) -> tuple[str, ...]:
    """The features a transform adds (empty when `spec` is empty)."""
    if not spec:
        return ()
    return ("source", "target", "mask") if spec == "mask" else ("source", "target")


def apply(spec: str, features: dict, seed) -> dict:
    """The transformed batch; `seed` is a [2] int tensor unique to the batch's position in the stream."""
    import tensorflow as tf

    name, arg = parse(spec, int(features["image"].shape[1]))
    image = features["image"]
    if name == "downsample":
        return {**features, "source": tf.nn.avg_pool2d(image, arg, arg, "VALID"), "target": image}
    shape = tf.shape(image)
    size = image.shape[1] // 2
    corner = tf.random.stateless_uniform([shape[0], 2], seed=seed, maxval=image.shape[1] - size + 1,
                                         dtype=tf.int32)
    rows = tf.range(image.shape[1])[None, :, None]
    cols = tf.range(image.shape[2])[None, None, :]
    inside = ((rows >= corner[:, :1, None]) & (rows < corner[:, :1, None] + size)
              & (cols >= corner[:, 1:, None]) & (cols < corner[:, 1:, None] + size))
    mask = tf.cast(inside, image.dtype)[..., None]
    masked = image * (1.0 - mask) - mask
    return {**features, "source": tf.concat([masked, mask], axis=-1), "target": image, "mask": mask}
