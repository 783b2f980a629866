r"""`unpaired:SOURCE_A,SOURCE_B`: two image domains with no pairs between them (CycleGAN's data).

Each side is any kgan source (`mnist`, `folder:PATH`, `npz:PATH`, ...), optionally followed by `+DOMAIN`, a
transform of that side's images that makes an unpaired task with a known ground truth out of labelled digits:

| domain | the side's images |
|---|---|
| `+thick` | strokes thickened by a 3x3 grey-level dilation (morphological) |
| `+invert` | 255 - x: light background, dark strokes |
| `+mnistm` | colour digits on textured backgrounds (MNIST-M, Ganin et al. 2016): \|patch - digit\| per channel, the patch a random crop (seeded by the example's position) of a colour photo that ships with matplotlib (`grace_hopper.jpg`, never downloaded); RGB, so set `data.channels = 3` |

When both sides name the same source, domain A takes its even positions and domain B its odd ones, so no
image (before its domain transform) is in both domains: `unpaired:mnist,mnist+thick` is truly unpaired.
Both sides keep their labels (for evaluation only: nothing pairs by label). The opened Source is domain B
(`dataset`, `labels`: the run's real images, the classifier's and the FID reference's data) with domain A
beside it (`Source.domain_a`): example i of B beside example i of A for as many examples as the larger domain has,
the smaller domain cycled, so every example of each domain is seen (and stored by preparation). Sizes and channel
counts are reconciled by the usual preprocessing (`data.resolution`, `data.channels`, `data.resize`), each side on
its own.

Parsing is TensorFlow-free (config validation); opening imports it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kgan.errors import DataError

SCHEME = "unpaired:"
DOMAINS = ("thick", "invert", "mnistm")
TEXTURE = "grace_hopper.jpg"  # matplotlib's sample data: installed with it, never downloaded


def is_unpaired(source: str) -> bool:
    return source.startswith(SCHEME)


def parse(source: str) -> tuple[tuple[str, str], tuple[str, str]]:
    """((source A, domain A), (source B, domain B)) of an `unpaired:` source string; domain "" when none."""
    sides = source[len(SCHEME):].split(",")
    if len(sides) != 2 or not all(sides):
        raise DataError(f"{source!r}: expected unpaired:SOURCE_A,SOURCE_B, two sources separated by one comma "
                        f"(each optionally SOURCE+DOMAIN, DOMAIN one of {list(DOMAINS)})")
    out = []
    for side in sides:
        base, plus, domain = side.rpartition("+")
        if not plus or domain not in DOMAINS:
            base, domain = side, ""
        if base.startswith(("paired:", SCHEME)):
            raise DataError(f"{source!r}: each side of unpaired: is one source of images, not {base!r}")
        out.append((base, domain))
    return out[0], out[1]


def split_positions(same_source: bool, side: int) -> tuple[int, int]:
    """(start, step) of the positions a side takes: every other one when both sides read the same source."""
    return (side, 2) if same_source else (0, 1)


def _side_labels(labels, start: int, step: int):
    return None if labels is None else labels[start::step]


def unpaired_labels(source: str, data_dir: str | None = None):
    """Domain B's labels (what the run's `label` feature holds), without decoding an image."""
    from kgan.data.sources import read_labels

    (base_a, _), (base_b, _) = parse(source)
    start, step = split_positions(base_a == base_b, 1)
    labels_b = _side_labels(read_labels(base_b, data_dir), start, step)
    labels_a = _side_labels(read_labels(base_a, data_dir), *split_positions(base_a == base_b, 0))
    if labels_b is None or labels_a is None:
        return labels_b
    return np.resize(labels_b, max(len(labels_a), len(labels_b)))  # B cycled when A has more


def open_unpaired(source: str, data_dir: str | None = None):
    """Domain B as the Source, domain A as its `domain_a` (see the module docstring)."""
    from kgan.data.sources import open_source

    (base_a, domain_a), (base_b, domain_b) = parse(source)
    same = base_a == base_b
    a = _side(open_source(base_a, data_dir), domain_a, *split_positions(same, 0))
    b = _side(open_source(base_b, data_dir), domain_b, *split_positions(same, 1))
    if min(a.count, b.count) == 0:
        raise DataError(f"{source!r}: a domain is empty (A has {a.count} examples, B {b.count})")
    count = max(a.count, b.count)
    a, b = _cycled(a, count), _cycled(b, count)
    return dataclasses.replace(b, name=source, domain_a=a, images=2)


def _side(src, domain: str, start: int, step: int):
    """A source's positions start, start + step, ... with its domain transform applied."""
    ds = src.dataset
    if step > 1:
        ds = ds.shard(step, start)
    if domain:
        transform = _TRANSFORMS[domain]()
        ds = ds.enumerate().map(lambda index, example: (transform(example[0], index), example[1]))
    count = len(range(start, src.count, step))
    return dataclasses.replace(src, dataset=ds, count=count, labels=_side_labels(src.labels, start, step))


def _cycled(src, count: int):
    """The side's examples repeated from its start up to `count` (itself when it has as many)."""
    if src.count == count:
        return src
    labels = None if src.labels is None else np.resize(src.labels, count)
    return dataclasses.replace(src, dataset=src.dataset.repeat().take(count), count=count, labels=labels)


def _thick():
    """3x3 grey-level dilation: every pixel the brightest of its neighbourhood (strokes about 2 px wider)."""
    import tensorflow as tf

    return lambda image, index: tf.cast(tf.nn.max_pool2d(tf.cast(image, tf.float32)[None], 3, 1, "SAME")[0],
                                        tf.uint8)


def _invert():
    return lambda image, index: 255 - image


def _mnistm():
    """|patch - digit| per channel, the patch cut from the texture at a place drawn from the example's position."""
    import matplotlib.cbook
    import matplotlib.image
    import tensorflow as tf

    photo = tf.constant(matplotlib.image.imread(matplotlib.cbook.get_sample_data(TEXTURE, asfileobj=False)))

    def blend(image, index):
        digit = tf.cast(tf.image.grayscale_to_rgb(image) if image.shape[-1] == 1 else image, tf.int32)
        shape = tf.shape(digit)
        patch = tf.image.stateless_random_crop(photo, shape, tf.stack([tf.constant(0, tf.int64), index]))
        return tf.cast(tf.abs(tf.cast(patch, tf.int32) - digit), tf.uint8)

    return blend


_TRANSFORMS = {"thick": _thick, "invert": _invert, "mnistm": _mnistm}
