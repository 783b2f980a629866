"""What projection minimises: a per-image distance of pixels plus the features of a frozen network.

    d(x, y) = pixel_weight * mean((x - y)^2) + feature_weight * perceptual_distance(F, x, y)

with x, y in [-1, 1] and F a `kgan.perceptual` feature network: by default the evaluation classifier
(`classifier:PATH`, its conv layers and its `features` layer), optionally any other spec (`vgg19:PATH`,
`random:DEPTH`). Pixels alone are sharp but find the nearest blur; features make the projection keep what the
classifier sees (the digit's identity, the stroke), seed 002's "feature distance".
"""

from __future__ import annotations

from dataclasses import dataclass

from kgan.errors import ConfigError, UsageError

FLAG = "--features"


@dataclass
class Distance:
    features: object = None  # a kgan.perceptual feature network, or None: pixels only
    pixel_weight: float = 1.0
    feature_weight: float = 1.0
    describe: str = "pixels"

    def __call__(self, x, y):
        """[B] distances of images x to targets y (TensorFlow, differentiable in x)."""
        from keras import ops

        from kgan.perceptual import perceptual_distances

        d = self.pixel_weight * ops.mean(ops.reshape(ops.square(x - y), (ops.shape(x)[0], -1)), axis=1)
        if self.features is not None and self.feature_weight:
            d = d + self.feature_weight * perceptual_distances(self.features, x, y)
        return d


def make_distance(image_shape, features: str | None = None, pixel_weight: float = 1.0,
                  feature_weight: float = 1.0) -> Distance:
    """`features`: a `kgan.perceptual` spec (`classifier:PATH`, `vgg19:PATH`, `random:DEPTH`), or None / "none" for
    pixels only. A bad spec is a one-line UsageError naming --features."""
    from kgan import perceptual

    if pixel_weight < 0 or feature_weight < 0 or not (pixel_weight or (features not in (None, "none")
                                                                         and feature_weight)):
        raise UsageError("the projection distance needs a positive pixel or feature weight (both >= 0)")
    if features in (None, "none"):
        return Distance(None, pixel_weight, 0.0, "pixel MSE")
    try:
        network = perceptual.feature_network(features, image_shape)
    except ConfigError as e:
        raise UsageError(str(e).replace(perceptual.KEY, FLAG)) from None
    return Distance(network, pixel_weight, feature_weight,
                    f"{pixel_weight:g} x pixel MSE + {feature_weight:g} x {features} feature distance")
