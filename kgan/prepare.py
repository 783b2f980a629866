"""Dataset preparation: decode a source once into model-ready TFRecord shards plus a dataset card.

Training, evaluation and the gallery then stream the shards (`shards:DIR` source, `kgan.data.shards`) instead of
decoding the original files again, and the card (count, shapes, label histogram, per-shard checksums, the
source's digest) documents exactly what a run was trained on. Shards hold `data.shard_mb` each, are written in
parallel, each to a temporary name then renamed, with a manifest holding its checksum; a killed preparation redoes
only the shards without a manifest that matches their file. The card is written last: it marks the set complete.
Every feature of an example is in its record: a `paired:` source's `source` image beside its target (`image`), an
`unpaired:` source's domain A (`image_a`, `label_a`) beside domain B, each image at its own shape (the card's
`features`), so training reads the same named batches from the shards as from the source.
With `data.captions` each record holds its example's captions (`text`); the text encoder's vocabulary adapted to
them is written beside the shards (`vocabulary.json`) and the card describes them (`text`).
`data.format = "source"` writes the card alone, computed in one streamed pass: training reads the source itself
(a `tfds:` data set in its own files).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kgan import io
from kgan.config import DataConfig

CARD = "card.json"
PLAN = "plan.json"  # the shard ranges, fixed on the first attempt so a resumed one writes the same shards
VOCABULARY = "vocabulary.json"  # kgan.data.text.VOCABULARY
LABELS = "labels.npy"  # kgan.data.shards.LABELS
SAMPLE = 64  # examples encoded to estimate the bytes per example


def preprocess_to_uint8(data_cfg: DataConfig) -> tuple[np.ndarray, np.ndarray]:
    """All examples of the source, resized/padded to the configured resolution and channels, uint8 (in memory:
    what small consumers such as generated captions measure)."""
    from kgan.data import make_dataset
    from kgan.imageio import to_uint8

    # holdout = 0: the shards hold every example; training and evaluation split them (kgan.data.make_dataset)
    ds = make_dataset(data_cfg.one_pass(), repeat=False).unbatch().batch(1024)
    images, labels = [], []
    for x, y in ds.as_numpy_iterator():
        images.append(to_uint8(x))
        labels.append(y.astype(np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _file_sha256(path: Path) -> str:
    return io.hash_file(hashlib.sha256(), path).hexdigest()


def shard_is_done(out_dir: Path, entry: dict) -> bool:
    """A shard whose file matches its manifest's checksum (a killed or corrupted one is redone)."""
    manifest = out_dir / (entry["file"] + ".json")
    if not manifest.is_file() or not (out_dir / entry["file"]).is_file():
        return False
    try:
        recorded = json.loads(manifest.read_text())
    except json.JSONDecodeError:
        return False
    return recorded.get("sha256") == _file_sha256(out_dir / entry["file"])


def _write_shard(data_cfg: DataConfig, out_dir: Path, entry: dict, examples, captions=None) -> dict:
    """Write one shard from its examples (dicts of uint8 images and labels; `captions`: every example's captions by
    source position) to a temporary name, rename it, then its manifest: count, checksum, label histogram, pixel
    sums, labels in order, skipped source positions."""
    import tensorflow as tf

    from kgan.data import shards

    target = out_dir / entry["file"]
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid():08d}")  # what io.clean_stale_temporaries removes
    hist, total, squares, pixels, labels = {}, 0.0, 0.0, 0, []
    shapes = {}
    with tf.io.TFRecordWriter(str(tmp)) as writer:
        for example in examples.items:
            index, label = example["position"], example["labels"]["label"]
            images = example["images"]
            for name, image in images.items():
                shapes.setdefault(name, image.shape)
            encoded = {k: bytes(v) for k, v in example["encoded"].items()}
            writer.write(shards.serialize(index, example["labels"], encoded, None if captions is None else captions[index]))
            if label >= 0:
                hist[label] = hist.get(label, 0) + 1
            total, squares = total + example["sums"][0], squares + example["sums"][1]
            pixels += images["image"].size
            labels.append(label)
    os.replace(tmp, target)
    manifest = {"file": entry["file"], "start": entry["start"], "stop": entry["stop"], "count": len(labels),
                "sha256": _file_sha256(target), "bytes": target.stat().st_size,
                "label_histogram": {str(k): v for k, v in sorted(hist.items())}, "pixel_sum": float(total),
                "pixel_square_sum": float(squares), "pixels": pixels, "labels": labels,
                "skipped": examples.skipped, "shapes": {k: [int(d) for d in v] for k, v in shapes.items()},
                "source_sha256": examples.source_digest()}
    io.write_json(out_dir / (entry["file"] + ".json"), manifest)
    return manifest


def prepare_dataset(data_cfg: DataConfig, out_dir: str | Path, *, workers: int | None = None,
                    log=None) -> dict:
    """Write `out_dir`'s shards (`data.format = "shards"`) and `card.json` last (with captions: `vocabulary.json`
    beside them); resumes an interrupted preparation of the same data section."""
    from kgan.data import examples as source_examples

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = log or (lambda message: print(f"[kgan] {message}", file=sys.stderr, flush=True))
    if data_cfg.format == "source":
        card = source_examples.streamed_card(data_cfg)
        card["memory_cache"] = _cache_line(data_cfg, card["count"])
        return _finish(data_cfg, out_dir, card)
    for stale in io.clean_stale_temporaries(out_dir):  # what a killed attempt was writing
        log(f"removed {stale.name}, left by an interrupted preparation")
    plan = _plan(data_cfg, out_dir)
    todo = [entry for entry in plan["shards"] if not shard_is_done(out_dir, entry)]
    if len(todo) < len(plan["shards"]):
        log(f"resuming: {len(plan['shards']) - len(todo)} of {len(plan['shards'])} shards already written and "
            f"verified")
    workers = workers or min(len(todo), os.cpu_count() or 1) or 1
    captions = _captions(data_cfg) if todo else None
    with ThreadPoolExecutor(max_workers=workers) as pool:  # TensorFlow releases the GIL while it decodes
        list(pool.map(lambda e: _write_shard(data_cfg, out_dir, e, source_examples.shard_examples(
            data_cfg, e["start"], e["stop"], plan["encoding"]), captions), todo))
    manifests = [json.loads((out_dir / (e["file"] + ".json")).read_text()) for e in plan["shards"]]
    for manifest in manifests:
        for skip in manifest["skipped"]:
            log(f"skipped {skip['file']}: {skip['reason']}")
    card = shards_card(data_cfg, plan, manifests)
    labels = np.asarray([label for m in manifests for label in m["labels"]], np.int64)
    with io.atomic_path(out_dir / LABELS) as tmp:
        np.save(tmp, labels)
    return _finish(data_cfg, out_dir, card)


def _captions(data_cfg: DataConfig) -> list[list[str]] | None:
    from kgan.data.text import caption_lists

    return caption_lists(data_cfg)


def _cache_line(data_cfg: DataConfig, count: int) -> str:
    """What `memory_cache` decides for the whole set (every stored image of an example counts)."""
    from kgan.data import pairs
    from kgan.data.preprocess import memory_cache

    return memory_cache(data_cfg, count, 1 + len(pairs.stored_images(data_cfg)))[1]


def _plan(data_cfg: DataConfig, out_dir: Path) -> dict:
    """The shard ranges: read back when an earlier attempt fixed them, else from the source's example count and
    the encoded size of its first examples."""
    from kgan.data import examples as source_examples
    from kgan.data import shards

    path = out_dir / PLAN
    if path.is_file():
        return json.loads(path.read_text())
    count = source_examples.example_count(data_cfg)
    per_example = source_examples.encoded_bytes(data_cfg, min(SAMPLE, count), data_cfg.encoding)
    per_shard = max(1, int(data_cfg.shard_mb * 2**20 // max(per_example, 1)))
    n = -(-count // per_shard)
    plan = {"count": count, "encoding": data_cfg.encoding, "bytes_per_example": per_example,
            "shards": [{"file": shards.shard_name(k, n), "start": k * per_shard, "stop": min(count, (k + 1) * per_shard)}
                       for k in range(n)]}
    io.write_json(path, plan)
    return plan


def shards_card(data_cfg: DataConfig, plan: dict, manifests: list[dict]) -> dict:
    hist: dict[str, int] = {}
    for m in manifests:
        for label, n in m["label_histogram"].items():
            hist[label] = hist.get(label, 0) + n
    count = sum(m["count"] for m in manifests)
    unlabelled = sum(sum(1 for label in m["labels"] if label < 0) for m in manifests)
    pixels = sum(m["pixels"] for m in manifests) or 1
    mean = sum(m["pixel_sum"] for m in manifests) / pixels
    var = max(0.0, sum(m["pixel_square_sum"] for m in manifests) / pixels - mean * mean)
    skipped = sorted(s["position"] for m in manifests for s in m["skipped"])
    shapes = manifests[0]["shapes"] if manifests else {}
    digest = hashlib.sha256("".join(m["sha256"] for m in manifests).encode()).hexdigest()
    source = hashlib.sha256("".join(m["source_sha256"] for m in manifests).encode()).hexdigest()
    return {
        "source": data_cfg.source, "format": "shards", "count": int(count), "shape": shapes.get("image"),
        "features": shapes,
        "num_classes": len(hist), "label_histogram": dict(sorted(hist.items(), key=lambda kv: int(kv[0]))),
        "unlabelled": int(unlabelled), "pixel_mean": mean, "pixel_std": var ** 0.5, "sha256": digest,
        "source_sha256": source, "encoding": plan["encoding"], "skipped": skipped,
        "skipped_files": [s["file"] for m in manifests for s in m["skipped"]],
        "memory_cache": _cache_line(data_cfg, count),
        "shards": [{"file": m["file"], "count": m["count"], "bytes": m["bytes"], "sha256": m["sha256"]}
                   for m in manifests],
        "preprocessing": {"resolution": data_cfg.resolution, "channels": data_cfg.channels,
                          "resize": data_cfg.resize, "limit": data_cfg.limit}}


def text_card(data_cfg: DataConfig, captions: list[list[str]], vocabulary: list[str]) -> dict:
    """What the card says about the `text` feature: where the captions come from, how many, the vocabulary."""
    from kgan.data import captions as cap

    counts = [len(c) for c in captions]
    card = {"captions": data_cfg.captions, "feature": "text", "count": int(sum(counts)),
            "per_image": [int(min(counts)), int(max(counts))], "vocabulary_size": len(vocabulary),
            "vocabulary": VOCABULARY}
    if data_cfg.captions == "attributes":
        card["held_out_combinations"] = [list(combo) for combo in cap.HELD_OUT]
    return card


def _finish(data_cfg: DataConfig, out_dir: Path, card: dict) -> dict:
    """The vocabulary of the captions beside the shards, then the card (written last: the set is complete)."""
    if data_cfg.captions:
        from kgan.data import captions as cap

        skipped = set(card.get("skipped", []))
        captions = [c for i, c in enumerate(_captions(data_cfg)) if i not in skipped]
        vocabulary = cap.vocabulary(captions)
        card["text"] = text_card(data_cfg, captions, vocabulary)
        io.write_json(out_dir / VOCABULARY, vocabulary)
    io.write_json(out_dir / CARD, card)
    return card


def prepared_data_config(data_cfg: DataConfig, out_dir: str | Path) -> DataConfig:
    """The data section that trains on the prepared shards (already at resolution, already limited, every feature
    in the records: pairs, domains, captions); the section itself with `data.format = "source"`."""
    if data_cfg.format == "source":
        return data_cfg
    return dataclasses.replace(data_cfg, source=prepared_source(out_dir), data_dir="", resize="none", limit=0)


def prepared_source(out_dir: str | Path) -> str:
    """The source string of a prepared data set: what every consumer of the pipeline reads."""
    return f"shards:{Path(out_dir)}"
