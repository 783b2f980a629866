"""A small dataset-specific CNN classifier used as a feature extractor for FID/IS/KID/PR.

InceptionV3 features say little about 28x28 digits (the seeds' criticism of IS outside ImageNet),
so for such data we train a classifier on the data itself: the penultimate dense layer
(`features`, 128-d) gives the embedding and the softmax gives p(y|x) for IS and mode coverage.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from kgan.errors import DataError
from kgan.io import atomic_path, write_json
from kgan.metrics import stats
from kgan.metrics.features import FeatureExtractor

FEATURES_LAYER = "features"
#: Below this held-out accuracy, reports warn: features of a classifier that cannot tell the
#: classes apart do not separate good samples from bad ones.
MIN_ACCURACY = 0.9


def sidecar_path(model_path: str | Path) -> Path:
    """`clf.keras` -> `clf.json`: training settings and holdout accuracy."""
    return Path(model_path).with_suffix(".json")


def build_classifier(image_shape, num_classes: int):
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(image_shape), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="feature_classifier")


def build_independent_classifier(image_shape, num_classes: int):
    """A second evaluator, unlike `build_classifier` in every layer (three stages of 3x3 pairs with ELU and
    average pooling, global average pooling, 64-d tanh features; no batch norm, whose moving statistics lag after a
    few epochs): a model tuned while watching scores in one classifier's feature space is judged in another's too,
    so it cannot have fitted the quirks of one."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=tuple(image_shape), name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    for filters in (24, 48, 96):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", activation="elu")(x)
        x = layers.AveragePooling2D(2, padding="same")(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(64, activation="tanh", name=FEATURES_LAYER)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probs")(x)
    return keras.Model(inputs, outputs, name="independent_classifier")


def train_classifier(images: np.ndarray, labels: np.ndarray, epochs: int, out_path: str | Path,
                     seed: int = 0, holdout: float = 0.1, batch_size: int = 128,
                     build=build_classifier) -> Path:
    """Train on in-memory images (`train_on_records` with the whole set as its shuffle buffer: every epoch a full
    shuffle)."""
    import tensorflow as tf

    images, labels = np.asarray(images), np.asarray(labels).astype(np.int64)
    if images.ndim != 4 or images.dtype != np.uint8 or len(images) != len(labels):
        raise DataError(f"classifier training needs uint8 NHWC images with one label each, got "
                        f"{images.dtype} {images.shape} and {len(labels)} labels")
    records = tf.data.Dataset.from_tensor_slices({"image": images, "label": labels,
                                                  "index": np.arange(len(images), dtype=np.int64)})
    return train_on_records(records, labels, images.shape[1:], epochs, out_path, seed=seed, holdout=holdout,
                            batch_size=batch_size, shuffle_buffer=len(images), build=build)


def train_on_records(records, labels: np.ndarray, image_shape, epochs: int, out_path: str | Path, *, seed: int = 0,
                     holdout: float = 0.1, batch_size: int = 128, shuffle_buffer: int = 10_000,
                     decode=None, build=build_classifier, steps: int = 0) -> Path:
    """Train `build(image_shape, num_classes)` on a stream, save `.keras` atomically, report holdout accuracy.

    `records`: a `tf.data.Dataset` of dicts with `image` (uint8, or still encoded: `decode` maps a record to its
    uint8 image), `label` and `index` (the example's position; `labels[index]` is its label). The holdout is a seeded
    random `holdout` fraction of the indices, the rest trains, shuffled in a buffer of `shuffle_buffer` records
    (before decoding: its memory is what the records hold), so nothing holds the whole set. `steps` > 0 stops each
    epoch after that many batches (a benchmark's few steps); 0 trains on every example.
    Returns `out_path`; the sidecar JSON (`sidecar_path`) records accuracy and settings.
    """
    import keras
    import tensorflow as tf

    labels = np.asarray(labels).astype(np.int64)
    if len(labels) < 2:
        raise DataError(f"classifier training needs at least 2 labelled images, got {len(labels)}")
    if labels.min() < 0:
        raise DataError("classifier training needs labelled images (found label -1)")
    out_path = Path(out_path)
    if out_path.suffix != ".keras":
        raise DataError(f"classifier path {out_path} must end in .keras")
    num_classes = int(labels.max()) + 1
    keras.utils.set_random_seed(seed)
    n_hold = max(1, int(round(holdout * len(labels))))
    held = np.zeros(len(labels), bool)
    held[np.random.default_rng(seed).permutation(len(labels))[:n_hold]] = True
    held = tf.constant(held)

    def split(in_holdout: bool):
        def side(record):
            return tf.equal(tf.gather(held, record["index"]), in_holdout)

        size = n_hold if in_holdout else len(labels) - n_hold  # a known epoch length; another count is an error
        return records.filter(side).apply(tf.data.experimental.assert_cardinality(size))

    def pairs(record):
        record = decode(record) if decode else record
        return tf.cast(record["image"], tf.float32), record["label"]

    train = (split(False).shuffle(max(1, shuffle_buffer), seed=seed, reshuffle_each_iteration=True)
             .map(pairs, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(1))
    model = build(tuple(image_shape), num_classes)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(train.repeat() if steps else train, epochs=epochs, steps_per_epoch=steps or None, verbose=0,
              shuffle=False)  # shuffled above, in the bounded buffer
    hits = seen = 0
    for x, y in split(True).map(pairs, num_parallel_calls=tf.data.AUTOTUNE).batch(500).as_numpy_iterator():
        hits += int(np.sum(np.asarray(model(x, training=False)).argmax(axis=1) == y))
        seen += len(y)
    with atomic_path(out_path) as tmp:
        model.save(tmp)
    write_json(sidecar_path(out_path), {
        "holdout_accuracy": hits / max(seen, 1), "holdout_size": int(seen), "train_size": int(len(labels) - seen),
        "epochs": epochs, "seed": seed, "image_shape": list(image_shape), "shuffle_buffer": int(shuffle_buffer),
        "num_classes": num_classes, "architecture": model.name})
    return out_path


class ClassifierExtractor(FeatureExtractor):
    """Features from the `features` layer, probabilities from the softmax; no resizing."""

    name = "classifier"

    def __init__(self, path: str | Path):
        import keras
        import tensorflow as tf

        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"classifier model {self.path}: no such file "
                            "(train one with kgan.metrics.train_classifier)")
        try:
            model = keras.models.load_model(self.path)
            both = keras.Model(model.inputs, [model.get_layer(FEATURES_LAYER).output,
                                              model.output])
        except Exception as e:  # Keras raises many types for a file that is not its format
            raise DataError(f"classifier model {self.path}: not a Keras classifier with a "
                            f"{FEATURES_LAYER!r} layer ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''})") from None
        self.model = model  # the softmax classifier itself, on [0, 255] pixels (differentiable uses)
        self.image_shape = tuple(model.input_shape[1:])
        self.num_classes = int(model.output_shape[-1])
        # One trace for every batch size (galleries and reports call it with many), not a retrace per size.
        self._fn = tf.function(lambda x: both(x, training=False),
                               input_signature=[tf.TensorSpec([None, *self.image_shape], tf.float32)])
        side = sidecar_path(self.path)
        self.info = json.loads(side.read_text()) if side.exists() else {}
        self._identity = None

    @property
    def details(self) -> dict:
        return {"name": self.name, "path": str(self.path.resolve()),
                "resize": "none (native resolution)", "image_shape": list(self.image_shape),
                "num_classes": self.num_classes,
                "holdout_accuracy": self.info.get("holdout_accuracy")}

    @property
    def warnings(self) -> list[str]:
        acc = self.info.get("holdout_accuracy")
        if acc is None:
            return [f"classifier {self.path}: held-out accuracy unknown (no "
                    f"{sidecar_path(self.path).name}); its features may not mean anything"]
        if acc < MIN_ACCURACY:
            return [f"classifier {self.path}: held-out accuracy {acc:.3f} is below "
                    f"{MIN_ACCURACY}; metrics on its features are not meaningful (train it "
                    "longer: eval.classifier_epochs)"]
        return []

    @property
    def identity(self) -> str:
        """A digest of the architecture and the weights as loaded: the same network anywhere, whatever its path
        or file time; another one (retrained, replaced in place) never matches."""
        if self._identity is None:
            self._identity = stats.cache_key(self.model.to_json(), *self.model.get_weights())
        return self._identity

    def _forward(self, images):
        if tuple(images.shape[1:]) != self.image_shape:
            raise DataError(f"classifier {self.path} expects images {self.image_shape}, "
                            f"got {tuple(images.shape[1:])}")
        f, p = self._fn(np.asarray(images, np.float32))
        return np.asarray(f), np.asarray(p, np.float64)
