"""Dataset preparation: decode a source once into a model-ready uint8 array shard plus a dataset card.

Training, evaluation and the gallery then read the shard (`npz:` source) instead of decoding the
original files again, and the card (counts, shape, label histogram, checksum) documents exactly
what a run was trained on. A `paired:DIR_A,DIR_B` source is the exception: its shard holds the targets
(the evaluation reference, the classifier's data, the gallery's real images) and the model's data
features are read from the two folders themselves, since a shard holds one image per example. An
`unpaired:SOURCE_A,SOURCE_B` source likewise: its shard holds domain B, training reads both domains.
With `data.captions` the shard's captions go beside it (`captions.jsonl`, read back as `data.captions = "file"`)
with the text encoder's vocabulary adapted to them (`vocabulary.json`), and the card describes them (`text`).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np

from kgan import io
from kgan.config import DataConfig
from kgan.data import pairs

SHARD = "data.npz"
CARD = "card.json"
CAPTIONS = "captions.jsonl"  # beside the shard: `data.captions = "file"` reads it
VOCABULARY = "vocabulary.json"  # kgan.data.text.VOCABULARY


def preprocess_to_uint8(data_cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """All examples of the source, resized/padded to the configured resolution and channels, uint8."""
    from kgan.data import make_dataset
    from kgan.imageio import to_uint8

    # holdout = 0: the shard holds every example; training and evaluation split it (kgan.data.make_dataset)
    one_pass = dataclasses.replace(data_cfg, batch_size=1, shuffle_buffer=0, cache=False, holdout=0.0)
    ds = make_dataset(one_pass, repeat=False).unbatch().batch(1024)
    images, labels = [], []
    for x, y in ds.as_numpy_iterator():
        images.append(to_uint8(x))
        labels.append(y.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def checksum(images: np.ndarray, labels: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return digest.hexdigest()


def dataset_card(data_cfg: DataConfig, images: np.ndarray, labels: np.ndarray) -> dict:
    classes, counts = np.unique(labels[labels >= 0], return_counts=True)
    return {
        "source": data_cfg.source,
        "count": int(len(images)),
        "shape": list(images.shape[1:]),
        "num_classes": int(len(classes)),
        "label_histogram": {str(int(c)): int(n) for c, n in zip(classes, counts)},
        "unlabelled": int((labels < 0).sum()),
        "pixel_mean": float(images.mean() / 255.0),
        "pixel_std": float(images.std() / 255.0),
        "sha256": checksum(images, labels),
        "preprocessing": {"resolution": data_cfg.resolution, "channels": data_cfg.channels,
                          "resize": data_cfg.resize, "limit": data_cfg.limit},
    }


def text_card(data_cfg: DataConfig, captions: list[list[str]], vocabulary: list[str]) -> dict:
    """What the card says about the `text` feature: where the captions come from, how many, the vocabulary."""
    from kgan.data import captions as cap

    counts = [len(c) for c in captions]
    card = {"captions": data_cfg.captions, "file": CAPTIONS, "count": int(sum(counts)),
            "per_image": [int(min(counts)), int(max(counts))], "vocabulary_size": len(vocabulary),
            "vocabulary": VOCABULARY}
    if data_cfg.captions == "attributes":
        card["held_out_combinations"] = [list(combo) for combo in cap.HELD_OUT]
    return card


def prepare_dataset(data_cfg: DataConfig, out_dir: str | Path) -> dict:
    """Write `out_dir/data.npz` (x uint8 NHWC, y int64) and `out_dir/card.json` atomically (with captions:
    `captions.jsonl` and `vocabulary.json` too)."""
    out_dir = Path(out_dir)
    images, labels = preprocess_to_uint8(data_cfg)
    card = dataset_card(data_cfg, images, labels)
    captions = vocabulary = None
    if data_cfg.captions:
        from kgan.data import captions as cap
        from kgan.data.text import caption_lists

        captions = caption_lists(data_cfg)
        vocabulary = cap.vocabulary(captions)
        card["text"] = text_card(data_cfg, captions, vocabulary)
    with io.atomic_path(out_dir, directory=True) as tmp:
        np.savez(tmp / SHARD, x=images, y=labels)
        if captions is not None:
            cap.write_jsonl(tmp / CAPTIONS, captions)
            io.write_json(tmp / VOCABULARY, vocabulary)
        io.write_json(tmp / CARD, card)
    return card


def prepared_data_config(data_cfg: DataConfig, out_dir: str | Path) -> DataConfig:
    """The data section that trains on a prepared shard (already at resolution, already limited); a paired
    source's own section (its features come in pairs from its folders), and an unpaired source's (two domains)."""
    if pairs.is_paired_source(data_cfg.source) or pairs.is_unpaired_source(data_cfg.source):
        return data_cfg
    return dataclasses.replace(data_cfg, source=f"npz:{Path(out_dir) / SHARD}", data_dir="", resize="none", limit=0,
                               captions="file" if data_cfg.captions else "")
