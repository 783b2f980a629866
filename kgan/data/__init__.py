"""Data sources -> `tf.data`: raw examples (`load_source`, `load_arrays`), training batches
(`make_dataset`, named features: `kgan.data.features`), a summary of a source (`inspect_source`) and the
pre-flight check that its labels fit the model (`check_labels_fit`). See DESIGN.md for the contract.
Attributes load lazily, so that TensorFlow-free submodules (`kgan.data.transforms`) can be used at config
load without importing TensorFlow."""

from kgan import lazy

_EXPORTS = {"check_labels_fit": "kgan.data.labels", "label_summary": "kgan.data.labels",
            "inspect_source": "kgan.data.summary", "make_dataset": "kgan.data.preprocess",
            "load_arrays": "kgan.data.sources", "load_source": "kgan.data.sources",
            "open_source": "kgan.data.sources", "read_labels": "kgan.data.sources"}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy.exports('kgan.data', _EXPORTS)
