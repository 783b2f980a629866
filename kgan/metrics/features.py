"""Feature extractors behind one interface, chosen by a spec string.

`classifier:PATH` is a small CNN trained on the dataset itself (meaningful for MNIST-like data,
where ImageNet features are not); `inception:HANDLE` is the InceptionV3 network published FIDs
use. Scores are only comparable between reports made with the same extractor, which is why every
report carries `FeatureExtractor.details`.
"""

from __future__ import annotations

import abc

import numpy as np

from kgan.errors import ConfigError, DataError


class FeatureExtractor(abc.ABC):
    """Maps images to features `[N,D]` and (when it has classes) class probabilities `[N,K]`.

    Inputs are NHWC uint8, or float in [0, 255] (PPL feeds unquantized images because an
    epsilon step would vanish under uint8 rounding). Subclasses implement `_forward`.
    """

    name = "base"
    num_classes = 0
    batch_size = 250

    @property
    @abc.abstractmethod
    def details(self) -> dict:
        """JSON-serializable description: name, source, input handling (incl. `resize`)."""

    @property
    def identity(self) -> str:
        """What its features depend on (`kgan.metrics.feature_cache`'s key): subclasses digest their weights."""
        return repr(sorted(self.details.items()))

    @property
    def warnings(self) -> list[str]:
        """Reasons not to trust scores made with this extractor (shown in every report)."""
        return []

    @abc.abstractmethod
    def _forward(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(features, probabilities or None) of one batch."""

    def run(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Features and probabilities (or None) of any number of images, in batches."""
        images = np.asarray(images)
        if images.ndim != 4:
            raise DataError(f"expected images shaped [N,H,W,C], got {images.shape}")
        feats, probs = [], []
        for i in range(0, len(images), self.batch_size):
            f, p = self._forward(images[i:i + self.batch_size])
            feats.append(np.asarray(f))
            if p is not None:
                probs.append(np.asarray(p))
        return np.concatenate(feats), (np.concatenate(probs) if probs else None)

    def features(self, images: np.ndarray) -> np.ndarray:
        return self.run(images)[0]

    def probs(self, images: np.ndarray) -> np.ndarray | None:
        return self.run(images)[1]


def get_extractor(spec: str) -> FeatureExtractor:
    """`classifier:PATH` or `inception:HANDLE` (URL or local SavedModel/hub directory)."""
    kind, _, arg = spec.partition(":")
    if not arg:
        raise ConfigError(f"feature extractor {spec!r}: expected 'classifier:PATH' or "
                          "'inception:HANDLE'")
    if kind == "classifier":
        from kgan.metrics.classifier import ClassifierExtractor
        return ClassifierExtractor(arg)
    if kind == "inception":
        from kgan.metrics.inception import InceptionExtractor
        return InceptionExtractor(arg)
    raise ConfigError(f"unknown feature extractor kind {kind!r} in {spec!r} "
                      "(known: classifier, inception)")
