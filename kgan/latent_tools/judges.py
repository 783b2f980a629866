"""What the latent tools measure on generated images: a classifier's classes and attributes such as ink mass.

A *target* is a class index of the classifier (`7`) or an attribute name (`thick`). Attributes are measured on
the images themselves, in [-1, 1]:

| attribute | score (higher = more of it) |
|---|---|
| `thick` | ink mass: the mean pixel intensity (x + 1) / 2 (MNIST strokes are bright on black) |
| `thin`  | minus the ink mass |
| `bright`, `dark` | the same two scores under names for data without strokes |

`score(target, images)` is differentiable (TensorFlow), so steering follows its gradient; arithmetic ranks
exemplars by it.
"""

from __future__ import annotations

from kgan.errors import UsageError

ATTRIBUTES = {"thick": 1.0, "thin": -1.0, "bright": 1.0, "dark": -1.0}  # sign of the ink mass


def ink_mass(images):
    """[B] mean intensity in [0, 1] of images in [-1, 1] (numpy or TensorFlow)."""
    from keras import ops

    return ops.mean(ops.reshape((images + 1.0) / 2.0, (ops.shape(images)[0], -1)), axis=1)


class Judge:
    """The evaluation classifier (a kgan classifier, `.keras`: its softmax over classes) and the attributes."""

    def __init__(self, classifier_path=None, image_shape=None):
        self.extractor = None
        if classifier_path is not None:
            from kgan.metrics.classifier import ClassifierExtractor

            self.extractor = ClassifierExtractor(classifier_path)
            if image_shape is not None and tuple(self.extractor.image_shape) != tuple(image_shape):
                raise UsageError(f"--classifier {classifier_path}: takes images {tuple(self.extractor.image_shape)}, "
                                 f"the model makes {tuple(image_shape)}")

    @property
    def num_classes(self) -> int:
        return self.extractor.num_classes if self.extractor is not None else 0

    def check(self, target: str) -> str:
        """A valid target, else a one-line UsageError."""
        if target in ATTRIBUTES:
            return target
        if not target.isdigit():
            raise UsageError(f"target {target!r}: expected a class index or one of {sorted(ATTRIBUTES)}")
        if self.extractor is None:
            raise UsageError(f"target {target}: a class needs the evaluation classifier (--classifier PATH)")
        if int(target) >= self.num_classes:
            raise UsageError(f"target {target}: the classifier has classes 0..{self.num_classes - 1}")
        return target

    def probs(self, images):
        """[B, K] class probabilities of images in [-1, 1] (TensorFlow, differentiable)."""
        return self.extractor.model((images + 1.0) * 127.5, training=False)

    def score(self, target: str, images):
        """[B] how much of `target` the images show: log p(class) or the attribute's signed ink mass."""
        from keras import ops

        if target in ATTRIBUTES:
            return ATTRIBUTES[target] * ink_mass(images)
        return ops.log(ops.maximum(self.probs(images)[:, int(target)], 1e-12))

    def scores(self, targets, images):
        """[B] the score of each image's own target (`targets`: one per image)."""
        import numpy as np
        from keras import ops

        out = 0.0
        rows = [i for i, t in enumerate(targets) if t not in ATTRIBUTES]
        if rows:  # one classifier pass for every class target
            onehot = np.zeros((len(targets), self.num_classes), np.float32)
            onehot[rows, [int(targets[i]) for i in rows]] = 1.0
            out = ops.sum(onehot * ops.log(ops.maximum(self.probs(images), 1e-12)), axis=1)
        for target in sorted(set(targets) & set(ATTRIBUTES)):
            mask = ops.convert_to_tensor([float(t == target) for t in targets])
            out = out + mask * self.score(target, images)
        return out

    def labels(self, images):
        """numpy ([B] predicted class, [B] its probability) of images in [-1, 1]."""
        from kgan.imageio import to_uint8

        p = self.extractor.probs(to_uint8(images))
        return p.argmax(axis=1), p.max(axis=1)
