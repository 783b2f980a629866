"""Data sources -> `tf.data`: raw examples (`load_source`, `load_arrays`), training batches
(`make_dataset`, named features: `kgan.data.features`) and a summary of a source (`inspect_source`).
See DESIGN.md for the contract. Attributes load lazily, so that TensorFlow-free submodules
(`kgan.data.transforms`) can be used at config load without importing TensorFlow."""

import importlib

_EXPORTS = {"inspect_source": "kgan.data.summary", "make_dataset": "kgan.data.preprocess",
            "load_arrays": "kgan.data.sources", "load_source": "kgan.data.sources", "open_source": "kgan.data.sources"}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'kgan.data' has no attribute {name!r}")
