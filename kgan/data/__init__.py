"""Data sources -> `tf.data`: raw examples (`load_source`, `load_arrays`), training batches
(`make_dataset`) and a summary of a source (`inspect_source`). See DESIGN.md for the contract."""

from kgan.data.summary import inspect_source
from kgan.data.preprocess import make_dataset
from kgan.data.sources import load_arrays, load_source, open_source

__all__ = ["inspect_source", "load_arrays", "load_source", "make_dataset", "open_source"]
