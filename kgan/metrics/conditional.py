"""Conditional evaluation: does the generator produce the class it is asked for?

- `conditional_accuracy(generator, extractor, ...)`: for each requested class y, `n_per_class` samples
  G(z, y) are classified by the extractor's classifier (a `ClassifierExtractor` trained on real labelled
  data, `kgan.metrics.train_classifier`); accuracy = fraction predicted as y, overall and per class, with
  the confusion matrix (rows: requested class, columns: predicted class).
- `per_class_fid(...)`: FID in the extractor's feature space between the samples of class y and the real
  images of class y (when labelled reference images are given).
- `code_purity(generator, extractor, ...)`: an unsupervised categorical input (a latent code other than the
  class label) vs the classifier's class. Purity = the best one-to-one matching accuracy between code
  values and classes (Hungarian algorithm, `scipy.optimize.linear_sum_assignment` on the confusion
  counts), as in the mutual-information GAN paper's MNIST result (Chen et al. 2016, sec. 7.1: 5% error).

Class indices must match between the generator's labels and the classifier's outputs (both come from the
dataset's labels).
"""

from __future__ import annotations

import numpy as np

from kgan.errors import ConfigError
from kgan.metrics.feature_cache import features_of
from kgan.metrics.reference import from_array
from kgan.metrics.frechet import fid
from kgan.imageio import to_uint8
from kgan.metrics.sources import as_generator
from kgan.metrics.stats import RunningStats
from kgan.models.surface import draw_numpy


def _class_samples(generator, num_classes: int, n_per_class: int, seed: int, batch_size: int):
    """Yields (class, uint8 images) with the same z's for every class."""
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n_per_class, generator.latent_dim)).astype(np.float32)
    for y in range(num_classes):
        chunks = []
        for start in range(0, n_per_class, batch_size):
            zb = z[start:start + batch_size]
            chunks.append(to_uint8(generator.images(zb, np.full(len(zb), y, np.int32))))
        yield y, np.concatenate(chunks)


def conditional_accuracy(samples_by_class, extractor, num_classes: int) -> dict:
    """Accuracy of the classifier's prediction against the requested class (`samples_by_class`: iterable of
    (class, uint8 images))."""
    if not extractor.num_classes:
        raise ConfigError(f"conditional accuracy needs a classifier with class probabilities; extractor "
                          f"{extractor.name!r} has none")
    confusion = np.zeros((num_classes, extractor.num_classes), np.int64)
    features = {}
    for y, images in samples_by_class:
        f, p = extractor.run(images)
        features[y] = f
        np.add.at(confusion[y], np.argmax(p, axis=1), 1)
    totals = confusion.sum(axis=1)
    hits = np.array([confusion[y, y] if y < confusion.shape[1] else 0 for y in range(num_classes)])
    per_class = (hits / np.maximum(totals, 1)).tolist()
    return {"accuracy": float(hits.sum() / max(totals.sum(), 1)), "per_class_accuracy": per_class,
            "confusion": confusion.tolist(), "num_samples": int(totals.sum())}, features


def per_class_fid(features: dict, extractor, reference_images, reference_labels=None) -> dict:
    """{class: FID of `features[class]` against the real images of that class}: `reference_images` a streamed
    `kgan.metrics.reference.Reference` (the labels come from its one pass) or an array with `reference_labels`."""
    out = {}
    if reference_labels is not None:
        reference_images = from_array(np.asarray(reference_images), reference_labels)
    real = features_of(extractor, reference_images, progress=False)
    real_features, reference_labels = real["features"], real["labels"]
    for y, f in features.items():
        real = real_features[reference_labels == y]
        if len(real) < 2 or len(f) < 2:
            continue
        rs, fs = RunningStats(), RunningStats()
        rs.update(real)
        fs.update(f)
        out[int(y)] = fid(fs, rs)["value"]
    return out


def conditional_report(samples, extractor, *, num_classes: int | None = None, n_per_class: int = 100,
                       seed: int = 0, batch_size: int = 250, reference_images=None,
                       reference_labels=None) -> dict:
    """Conditional accuracy (overall, per class, confusion) and, with labelled references, per-class FID."""
    generator = as_generator(samples)
    k = int(num_classes or generator.num_classes)
    if k <= 0:
        raise ConfigError("conditional evaluation needs a conditional generator (num_classes > 0)")
    acc, features = conditional_accuracy(_class_samples(generator, k, n_per_class, seed, batch_size),
                                         extractor, k)
    report = {"num_classes": k, "n_per_class": n_per_class, **acc}
    if reference_images is not None:
        report["per_class_fid"] = per_class_fid(features, extractor, reference_images, reference_labels)
    return report


def matching_accuracy(confusion) -> tuple[float, list]:
    """Best one-to-one assignment of rows (code values) to columns (classes): (accuracy, [(row, col)])."""
    from scipy.optimize import linear_sum_assignment

    confusion = np.asarray(confusion)
    rows, cols = linear_sum_assignment(-confusion)
    return float(confusion[rows, cols].sum() / max(confusion.sum(), 1)), [(int(r), int(c)) for r, c in zip(rows, cols)]


def code_purity(samples, extractor, n_per_code: int = 200, seed: int = 0, batch_size: int = 250,
                name: str | None = None) -> dict:
    """Classify G(code = k, every other input drawn) for every value k of the categorical input `name`
    (default: the first categorical input that is not the class label); Hungarian-matched purity."""
    generator = as_generator(samples)
    code = next((s for s in generator.specs if s.draw == "categorical" and s.name != "label"
                 and name in (None, s.name)), None)
    if code is None:
        raise ConfigError(f"code purity needs a categorical input{f' named {name!r}' if name else ''} besides "
                          f"the class label; the model's inputs are {[s.name for s in generator.specs]}")
    rng = np.random.default_rng(seed)
    confusion = np.zeros((code.classes, extractor.num_classes), np.int64)
    for value in range(code.classes):
        for start in range(0, n_per_code, batch_size):
            b = min(batch_size, n_per_code - start)
            inputs = {**draw_numpy(generator.specs, b, rng), code.name: np.full(b, value, np.int32)}
            probs = extractor.probs(to_uint8(generator.fn(inputs)))
            np.add.at(confusion[value], np.argmax(probs, axis=1), 1)
    purity, matching = matching_accuracy(confusion)
    majority = float(confusion.max(axis=1).sum() / max(confusion.sum(), 1))
    return {"purity": purity, "matching": matching, "majority_purity": majority, "input": code.name,
            "confusion": confusion.tolist(), "n_per_code": n_per_code}
