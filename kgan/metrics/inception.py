"""InceptionV3 pool_3 features and logits from a TF Hub handle or a local SavedModel.

Published FIDs use the 2015-12-05 TensorFlow Inception graph, distributed for TF2 as TF-GAN's
`https://tfhub.dev/tensorflow/tfgan/eval/inception/1` module (inputs float [-1, 1], 299x299,
outputs `pool_3` [N,2048] and `logits` [N,1008]). `keras.applications.InceptionV3` has different
weights and preprocessing: its FIDs are NOT comparable with published numbers, so it is not offered.
The module is loaded with `tensorflow_hub.load` (the SavedModel object, not `hub.KerasLayer`) and
its outputs are found by inspecting its signatures, falling back to calling the object itself.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import numpy as np

from kgan.errors import DataError
from kgan.io import hash_file
from kgan.metrics.features import FeatureExtractor

TFGAN_INCEPTION = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
SIZE = 299
RESIZE = "tf.image.resize bilinear antialias=False to 299x299 (after uint8 quantization)"


def _is_url(handle: str) -> bool:
    return "://" in handle


class InceptionExtractor(FeatureExtractor):
    """Grayscale is tiled to RGB, images resized to 299x299 (`RESIZE`), scaled to [-1, 1]."""

    name = "inception"
    batch_size = 64

    def __init__(self, handle: str = TFGAN_INCEPTION):
        import tensorflow as tf
        import tensorflow_hub as hub

        if not _is_url(handle) and not os.path.isdir(handle):
            raise DataError(f"inception handle {handle!r}: no such directory (pass a TF Hub URL "
                            "or a local SavedModel directory)")
        self.handle = handle
        try:
            self._module = hub.load(handle)
        except (OSError, ValueError, tf.errors.OpError) as e:
            raise DataError(f"inception handle {handle!r} could not be loaded: {e}") from e
        self._call, self._input_key = self._find_entry()
        self._fn = tf.function(self._graph_forward, reduce_retracing=True)
        feats, probs = self._forward(np.zeros((1, 8, 8, 3), np.uint8))
        self.feature_dim = feats.shape[1]
        self.num_classes = 0 if probs is None else probs.shape[1]

    def _find_entry(self):
        """Prefer a signature returning a dict with 'pool_3' (+ 'logits'); else the callable."""
        sigs = dict(getattr(self._module, "signatures", {}) or {})
        for key in ["serving_default", "default", *sigs]:
            sig = sigs.get(key)
            if sig is not None and "pool_3" in sig.structured_outputs:
                _, kwargs = sig.structured_input_signature
                if len(kwargs) != 1:
                    raise DataError(f"inception signature {key!r} of {self.handle!r} takes "
                                    f"{sorted(kwargs)}; expected exactly one image input")
                return sig, next(iter(kwargs))
        if callable(self._module):
            return self._module, None
        raise DataError(f"inception module {self.handle!r} has no signature with a 'pool_3' "
                        "output and is not callable")

    def _graph_forward(self, images):
        import tensorflow as tf

        x = tf.cast(images, tf.float32)
        x = tf.broadcast_to(x, tf.concat([tf.shape(x)[:3], [3]], 0))  # grayscale -> RGB
        x = tf.image.resize(x, [SIZE, SIZE], method="bilinear", antialias=False)
        x = x / 127.5 - 1.0
        out = self._call(**{self._input_key: x}) if self._input_key else self._call(x)
        if isinstance(out, dict):
            logits = out.get("logits")
            return out["pool_3"], (tf.nn.softmax(logits) if logits is not None else None)
        return out, None

    @property
    def details(self) -> dict:
        return {"name": self.name, "handle": self.handle, "resize": RESIZE,
                "input_range": "[-1, 1]", "grayscale": "tiled to RGB",
                "feature_dim": self.feature_dim, "num_classes": self.num_classes}

    @functools.cached_property
    def identity(self) -> str:
        """A local SavedModel by the digest of its files (graph and weights), a hub URL by its handle (a published
        handle's weights do not change)."""
        if _is_url(self.handle):
            return f"inception:{self.handle}"
        digest = hashlib.sha1()
        for path in sorted(p for p in Path(self.handle).rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.handle).as_posix().encode())
            hash_file(digest, path)
        return f"inception:{digest.hexdigest()}"

    def _forward(self, images):
        f, p = self._fn(np.asarray(images, np.float32))
        f = np.asarray(f).reshape(len(images), -1)
        return f, (np.asarray(p, np.float64) if p is not None else None)
