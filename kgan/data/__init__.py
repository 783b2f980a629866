"""Data sources -> `tf.data`: raw examples (`load_source`, `load_arrays`), training batches
(`make_dataset`), a summary of a source (`inspect_source`) and the pre-flight check that its labels
fit the model (`check_labels_fit`). See DESIGN.md for the contract."""

from kgan.data.labels import check_labels_fit, label_summary
from kgan.data.summary import inspect_source
from kgan.data.preprocess import make_dataset
from kgan.data.sources import load_arrays, load_source, open_source, read_labels

__all__ = ["check_labels_fit", "inspect_source", "label_summary", "load_arrays", "load_source",
           "make_dataset", "open_source", "read_labels"]
