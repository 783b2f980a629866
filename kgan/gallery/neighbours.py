"""Nearest real neighbours of generated samples, searched over every real image.

A near-copy of one training image is memorization only if it is closer than real images are to each
other, so the section puts the generated-to-real distances next to a reference: for a random sample
of real images, the distance to their nearest *other* real image. The search streams the real set
(`kgan.metrics.reference.Reference`) one batch at a time, embeds it and keeps a running top-k, so memory stays
bounded whatever the set's size and a copy of any training image is found, not only of the first few thousand.
The real set's features are computed in that one pass and not kept: kept, they would grow with the set.
"""

from __future__ import annotations

import numpy as np

from kgan.gallery.sections import SAMPLES, Section, Table
from kgan.metrics.reference import as_reference

QUERIES = 8  # generated samples shown with their neighbours
NEIGHBOURS = 3
REFERENCE = 100  # real images whose nearest other real image is the reference distance
BATCH = 1024  # real images read and embedded at a time


def embed(images: np.ndarray, classifier=None) -> np.ndarray:
    """float64 features: the classifier's penultimate layer, else raw pixels in [0, 1]."""
    if classifier is None:
        return images.reshape(len(images), -1).astype(np.float64) / 255.0
    return classifier.features(images).astype(np.float64)


def nearest(queries: np.ndarray, real, k: int, classifier=None, exclude=None,
            batch: int = BATCH) -> tuple[np.ndarray, np.ndarray]:
    """(real indices [Q, k], L2 distances [Q, k]) of each query's k nearest real images, nearest first: `real` a
    `Reference` (its images' `index`) or an array (positions). `queries` are features (`embed`); `exclude[q]` is a
    real index that does not count for query q (the query itself, for real-to-real distances; -1 for none)."""
    exclude = np.full(len(queries), -1) if exclude is None else np.asarray(exclude)
    q2 = np.sum(queries ** 2, axis=1)[:, None]
    best_d = np.full((len(queries), 0), np.inf)
    best_i = np.zeros((len(queries), 0), dtype=np.int64)
    for part in as_reference(real).batches(batch):
        feats, idx = embed(part["image"], classifier), part["index"]
        d2 = q2 - 2 * queries @ feats.T + np.sum(feats ** 2, axis=1)[None, :]
        d2[exclude[:, None] == idx[None, :]] = np.inf
        d = np.concatenate([best_d, np.sqrt(np.maximum(d2, 0))], axis=1)
        i = np.concatenate([best_i, np.broadcast_to(idx, d2.shape)], axis=1)
        keep = np.argsort(d, axis=1, kind="stable")[:, :k]
        best_d, best_i = np.take_along_axis(d, keep, 1), np.take_along_axis(i, keep, 1)
    return best_i, best_d


def neighbours_section(src, real, writer, seed: int, classifier=None, classifier_note: str = "") -> Section:
    space = ("penultimate-layer features of the classifier " + str(classifier.path)
             if classifier is not None else "pixel space (L2 distance between raw pixels)")
    sec = Section("neighbours", "Nearest real neighbours",
                  f"Each row: a generated sample (leftmost column) and its {NEIGHBOURS} nearest real "
                  f"training images, searched over all real images. Feature space: {space}. A sample much "
                  "closer to a real image than real images are to each other suggests memorization.")
    if classifier_note:
        sec.notes.append(classifier_note)
    if sec.lacks_model(src):
        return sec
    if real is None:
        sec.notes.append("Missing: no real data to search (pass --data SOURCE).")
        return sec
    fake = src.generate(src.draw(SAMPLES, seed))[:QUERIES]  # the first samples of the random grid
    picks = (real.index_at(np.sort(np.random.default_rng(seed).permutation(real.count)[:REFERENCE]))
             if real.count > 1 else np.zeros(0, np.int64))
    queries = np.concatenate([embed(fake, classifier)]
                             + ([embed(real.images_at(picks), classifier)] if len(picks) else []))
    exclude = np.concatenate([np.full(len(fake), -1), picks])
    found, dist = nearest(queries, real, NEIGHBOURS, classifier, exclude)
    reference = (f"real-to-real reference: a real image's nearest other real image is at median "
                 f"{np.median(dist[QUERIES:, 0]):.3f} (range {dist[QUERIES:, 0].min():.3f} to "
                 f"{dist[QUERIES:, 0].max():.3f}; {len(picks)} random real images)" if len(picks)
                 else "no real-to-real reference (a single real image)")
    shown = real.images_at(found[:QUERIES].ravel()).reshape(found[:QUERIES].shape + fake.shape[1:])
    rows = np.concatenate([fake[:, None], shown], axis=1)  # [Q, 1 + K, H, W, C]
    sec.items.append(writer.grid("neighbours.png", rows.reshape((-1,) + fake.shape[1:]), NEIGHBOURS + 1,
                                 f"generated | {NEIGHBOURS} nearest of {real.count} real images; {reference}"))
    sec.items.append(Table(["sample", *[f"distance to neighbour {i + 1}" for i in range(NEIGHBOURS)]],
                           [[str(i), *[f"{v:.3f}" for v in row]] for i, row in enumerate(dist[:QUERIES])],
                           f"distances in the feature space above; {reference}"))
    return sec
