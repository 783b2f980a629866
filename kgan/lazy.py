"""Package attributes that import their module on first use.

`kgan.data` and `kgan.nets` re-export functions whose modules import TensorFlow; config validation only
needs their TensorFlow-free submodules, so the package itself must not import the heavy ones.
"""

from __future__ import annotations

import importlib


def exports(package: str, names: dict[str, str]):
    """A module `__getattr__` that serves `names` (attribute -> module) lazily."""

    def __getattr__(name):
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
