"""Vector arithmetic on concept vectors (DCGAN, Radford et al. 2016; seed 004): "thick sevens - thin sevens +
thin ones", with each concept averaged over several exemplars, since one z per concept is unstable.

How the vectors are computed:
1. a pool of `pool` points is drawn from `seed` (`LatentModel.draw`: the model's own seeded draws, categorical
   inputs cycling) and rendered;
2. each image is labelled by the evaluation classifier (its most probable class) and scored for every attribute
   (`kgan.latent_tools.judges`: `thick` = ink mass, `thin` = minus the ink mass);
3. a concept `L` (a class) takes, among the pool images labelled L, the `exemplars` with the highest probability
   of L; `L:ATTR` the ones with the highest ATTR score among those labelled L with a probability of at least
   `min_confidence` (0.9: clear members of the class, as the paper picked its exemplars by eye, not the blobs an
   extreme attribute alone selects); `:ATTR` the highest ATTR scores of the whole pool (ties: the earlier pool
   index first);
4. its vector is the plain mean of the exemplars' latents, `mean(z[i] for i in exemplars)`;
5. the result is the signed sum of the vectors, `sum(sign_j * v_j)`; its other inputs (a class label) are those of
   the first term's first exemplar. The grid adds `variations` copies of the result plus uniform noise of
   +-`noise` (the paper's 0.25) to show the neighbourhood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from kgan.errors import DataError, UsageError
from kgan.latent_tools.judges import ATTRIBUTES

_TERM = r"(?:\d+(?::[a-z]+)?|:[a-z]+)"
_EXPRESSION = re.compile(rf"\s*[+-]?\s*{_TERM}(?:\s*[+-]\s*{_TERM})*\s*")


@dataclass(frozen=True)
class Concept:
    label: int | None
    attribute: str | None

    def __str__(self):
        return f"{'' if self.label is None else self.label}{':' + self.attribute if self.attribute else ''}"


@dataclass
class Term:
    sign: float
    concept: Concept
    exemplars: np.ndarray  # pool indices
    vector: np.ndarray  # the mean latent of the exemplars


@dataclass
class Arithmetic:
    terms: list
    result: dict  # the result point (one row)
    pool: dict  # the pool's points
    pool_images: np.ndarray


def parse_expression(text: str) -> list[tuple[float, Concept]]:
    """`"7:thick - 7:thin + 1:thin"` -> [(+1, 7:thick), (-1, 7:thin), (+1, 1:thin)]; TensorFlow-free."""
    if not _EXPRESSION.fullmatch(text or ""):
        raise UsageError(f"expression {text!r}: expected terms CLASS, CLASS:ATTRIBUTE or :ATTRIBUTE joined by + "
                         f"and -, e.g. '7:thick - 7:thin + 1:thin' (attributes: {sorted(ATTRIBUTES)})")
    terms = []
    for sign, label, attribute in re.findall(r"([+-]?)\s*(\d*)(?::([a-z]+))?", text.replace(" ", "")):
        if not label and not attribute:
            continue
        if attribute and attribute not in ATTRIBUTES:
            raise UsageError(f"expression {text!r}: unknown attribute {attribute!r}; choose from {sorted(ATTRIBUTES)}")
        terms.append((-1.0 if sign == "-" else 1.0, Concept(int(label) if label else None, attribute or None)))
    return terms


def select(concept: Concept, labels, confidence, scores: dict, count: int, min_confidence: float = 0.9) -> np.ndarray:
    """The pool indices of the concept's `count` exemplars (step 3 of the module doc)."""
    if concept.label is None:
        pool = np.arange(len(confidence))
    elif concept.attribute:
        pool = np.flatnonzero((labels == concept.label) & (confidence >= min_confidence))
    else:
        pool = np.flatnonzero(labels == concept.label)
    key = scores[concept.attribute][pool] if concept.attribute else confidence[pool]
    chosen = pool[np.argsort(-key, kind="stable")][:count]
    if len(chosen) < count:
        raise DataError(f"concept {concept}: only {len(chosen)} of the {len(confidence)} pool samples qualify, "
                        f"{count} exemplars wanted (raise --pool or lower --exemplars)")
    return chosen


def arithmetic(lm, judge, terms, *, exemplars: int = 3, pool: int = 1000, seed: int = 0,
               min_confidence: float = 0.9) -> Arithmetic:
    """Concept vectors and their signed sum (see the module doc); `judge`: a `Judge` (a classifier for classes)."""
    for _, concept in terms:
        if concept.label is not None:
            judge.check(str(concept.label))
    points = lm.draw(pool, seed)
    images = lm.images(points)
    labels = confidence = np.zeros(pool)
    if any(concept.label is not None for _, concept in terms):
        labels, confidence = judge.labels(images)
    scores = {attr: np.asarray(judge.score(attr, images)) for attr in {c.attribute for _, c in terms if c.attribute}}
    z = points[lm.latent.name]
    out = []
    for sign, concept in terms:
        chosen = select(concept, labels, confidence, scores, exemplars, min_confidence)
        out.append(Term(sign, concept, chosen, z[chosen].mean(axis=0)))
    first = out[0].exemplars[0]
    result = {name: value[first:first + 1] for name, value in points.items()}
    result[lm.latent.name] = sum(t.sign * t.vector for t in out)[None].astype(np.float32)
    return Arithmetic(out, result, points, images)


def grid(lm, result: Arithmetic, variations: int = 3, noise: float = 0.25, seed: int = 0) -> tuple[np.ndarray, int]:
    """(float images, columns): one row per term (its exemplars, then the image of its mean vector), then the
    result and `variations` noisy copies; rows padded with blank (-1) images to the widest."""
    name = lm.latent.name
    rows = []
    for term in result.terms:
        mean = {k: v[term.exemplars[:1]] for k, v in result.pool.items()}
        mean[name] = term.vector[None].astype(np.float32)
        rows.append(np.concatenate([result.pool_images[term.exemplars], lm.images(mean)]))
    jitter = np.random.default_rng(seed).uniform(-noise, noise, (variations, *lm.latent.shape)).astype(np.float32)
    copies = {k: np.repeat(v, variations + 1, axis=0) for k, v in result.result.items()}
    copies[name] = copies[name] + np.concatenate([np.zeros((1, *lm.latent.shape), np.float32), jitter])
    rows.append(lm.images(copies))
    cols = max(len(r) for r in rows)
    blank = -np.ones((1, *rows[0].shape[1:]), np.float32)
    return np.concatenate([np.concatenate([r, *[blank] * (cols - len(r))]) for r in rows]), cols
