"""Data at scale: a folder of N synthetic 64x64 PNGs is prepared into TFRecord shards and streamed to DCGAN64.

For each N (default 10,000 and 100,000), in a fresh temporary directory:
  1. N PNGs written deterministically (8x8 RGB noise blown up 8x, so they compress like simple images);
  2. `kgan.prepare.prepare_dataset` (data.format = "shards", png) in its own process: preparation images/s;
  3. the input pipeline alone (`feature_dataset`, what training reads) in its own process: images/s;
  4. K training steps of DCGAN64 (pipelines/gpu_dcgan64.toml's model and batch, jit and steps_per_execution off on
     CPU) on the shards in its own process: steps/s, images/s consumed, and the process's peak RSS;
  5. what reads the prepared set after training, each in its own process with its own peak RSS:
     (b) the evaluation classifier (`train_on_records`, as TrainClassifier) for --classifier-steps batches of 128
         and its scoring on the 10% holdout; (a) the reference statistics (the pipeline's reference: a seeded
         sample of max(--eval-samples, 10,000) images, `PrepareDataset.reference`) and an evaluation of a small
         generator (a fixed random projection of z) with that classifier's features, FID/KID/precision-recall on
         --eval-samples samples; (c) the gallery's nearest-neighbour search of 8 generated images over every image
         of the set, in the classifier's feature space.
The PNGs sit in 10 class folders (image i in c{i % 10}/), so the classifier has labels to train on (noise: its
accuracy is chance; its memory is what is measured). Training streams (data.cache = false) at both sizes, so the
peak RSS compares like with like; the card's automatic-cache line is printed too. The claim checked: peak RSS of
each process < --rss-bound GB and the 100k run's no higher than the 10k run's by more than 10%.

Usage: python bench/data_scale.py [--sizes 10000,100000] [--steps 30] [--input-batches 200] [--rss-bound 2.5]
                                  [--width W] [--batch B] [--shard-mb MB] [--classifier-steps 20]
                                  [--eval-samples 1000] [--neighbours classifier|pixels] [--skip-training]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "pipelines" / "gpu_dcgan64.toml"


def write_pngs(root: Path, n: int) -> None:
    from PIL import Image
    import numpy as np

    rng = np.random.default_rng(0)
    for k in range(10):
        (root / f"c{k}").mkdir()
    for start in range(0, n, 1000):
        small = rng.integers(0, 256, (min(1000, n - start), 8, 8, 3), dtype=np.uint8)
        for i, image in enumerate(small.repeat(8, axis=1).repeat(8, axis=2)):
            Image.fromarray(image).save(root / f"c{(start + i) % 10}" / f"{start + i:06d}.png", compress_level=1)


def experiment(prepared: Path, steps: int):
    """gpu_dcgan64's model on the prepared shards (width and batch as --width / --batch: shrunk for a CPU); CPU
    settings (no XLA, one step per execution)."""
    from kgan.config import load_config
    from kgan.prepare import prepared_data_config

    cfg = load_config(CONFIG)
    shrink = json.loads(os.environ.get("KGAN_BENCH_SHRINK", "{}"))
    cfg = cfg.replace(**shrink, **{"data.source": "folder:unused", "data.cache": False, "train.steps": steps,
                         "train.jit_compile": False, "train.steps_per_execution": 1, "train.ema": 0.0,
                         "train.checkpoint_every": 10**6, "train.snapshot_every": 10**6, "train.log_every": steps})
    return dataclasses.replace(cfg, data=prepared_data_config(cfg.data, prepared))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_prepare(folder: Path, prepared: Path) -> dict:
    from kgan.config import load_config
    from kgan.prepare import prepare_dataset

    shard_mb = json.loads(os.environ.get("KGAN_BENCH_SHRINK", "{}")).get("data.shard_mb", 128)
    data = load_config(CONFIG).replace(**{"data.source": f"folder:{folder}", "data.cache": False,
                                          "data.shard_mb": shard_mb}).data
    started = time.perf_counter()
    card = prepare_dataset(data, prepared)
    seconds = time.perf_counter() - started
    return {"count": card["count"], "shards": len(card["shards"]), "bytes": sum(s["bytes"] for s in card["shards"]),
            "seconds": seconds, "images_per_s": card["count"] / seconds, "memory_cache": card["memory_cache"],
            "peak_rss_mb": peak_rss_mb()}


def child_input(prepared: Path, batches: int) -> dict:
    from kgan.data.features import feature_dataset

    cfg = experiment(prepared, 1)
    it = iter(feature_dataset(cfg.data, seed=0))
    next(it)  # start-up (opening the shards, filling the shuffle buffer's first batch) left out
    started = time.perf_counter()
    for _ in range(batches):
        next(it)
    seconds = time.perf_counter() - started
    return {"images_per_s": batches * cfg.data.batch_size / seconds, "batch": cfg.data.batch_size,
            "peak_rss_mb": peak_rss_mb()}


def child_train(prepared: Path, steps: int, out: Path) -> dict:
    import keras

    from kgan.training import train

    cfg = experiment(prepared, steps)
    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter())

    train(cfg, out, resume=False, verbose=False, callbacks=[Clock()])
    timed = times[len(times) // 3:]  # after tracing and the shuffle buffer's filling
    per_step = (timed[-1] - timed[0]) / max(1, len(timed) - 1)
    return {"steps": steps, "step_s": per_step, "images_per_s": cfg.data.batch_size / per_step,
            "peak_rss_mb": peak_rss_mb()}


def prepared_source(prepared: Path):
    """(source string, card digest) of the prepared set."""
    card = json.loads((prepared / "card.json").read_text())
    return f"shards:{prepared}", card["sha256"]


def child_classifier(prepared: Path, steps: int, out: Path) -> dict:
    from kgan.data.sources import open_source
    from kgan.metrics.classifier import train_on_records
    from kgan.metrics.reference import indexed_records

    src = open_source(prepared_source(prepared)[0])
    records, decode = indexed_records(src)
    started = time.perf_counter()
    train_on_records(records, src.labels, src.single_shape(), 1, out, steps=steps, decode=decode)
    return {"steps": steps, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def small_generator():
    """64x64 RGB images from z: a fixed random projection, tanh (what is measured is the real side's memory)."""
    import numpy as np

    from kgan.metrics import Generator

    w = np.random.default_rng(1).standard_normal((16, 64 * 64 * 3)).astype(np.float32) / 4
    return Generator.from_latent(lambda z: np.tanh(z @ w).reshape(-1, 64, 64, 3), latent_dim=16)


def child_eval(prepared: Path, samples: int, classifier: Path) -> dict:
    from kgan.metrics import evaluate
    from kgan.metrics.reference import from_source
    from kgan.tasks import REFERENCE_IMAGES

    source, digest = prepared_source(prepared)
    started = time.perf_counter()
    reference = from_source(source, n=max(samples, REFERENCE_IMAGES), seed=0, digest=digest)
    report = evaluate(small_generator(), reference, f"classifier:{classifier}", metrics="fid,kid,pr", n=samples,
                      progress=False)
    return {"reference": report["reference_selection"], "fid": report["metrics"]["fid"]["value"],
            "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def child_neighbours(prepared: Path, classifier: Path, space: str) -> dict:
    from kgan.gallery.neighbours import embed, nearest
    from kgan.metrics.classifier import ClassifierExtractor
    from kgan.metrics.reference import from_source

    source, digest = prepared_source(prepared)
    extractor = ClassifierExtractor(classifier) if space == "classifier" else None
    real = from_source(source, digest=digest)
    fake = next(small_generator().batches(8, 8))
    started = time.perf_counter()
    found, _ = nearest(embed(fake, extractor), real, 3, extractor)
    shown = real.images_at(found.ravel())
    return {"searched": real.count, "shown": len(shown), "space": space, "seconds": time.perf_counter() - started,
            "peak_rss_mb": peak_rss_mb()}


def run_child(*args) -> dict:
    result = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})  # KGAN_BENCH_SHRINK passes through
    if result.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--input-batches", type=int, default=200)
    parser.add_argument("--rss-bound", type=float, default=2.5, help="GB")
    parser.add_argument("--width", type=int, help="model.width (gpu_dcgan64: 64)")
    parser.add_argument("--batch", type=int, help="data.batch_size (gpu_dcgan64: 128)")
    parser.add_argument("--shard-mb", type=int, help="data.shard_mb (default 128)")
    parser.add_argument("--classifier-steps", type=int, default=20, help="batches of the evaluation classifier")
    parser.add_argument("--eval-samples", type=int, default=1000, help="generated samples scored")
    parser.add_argument("--neighbours", choices=("classifier", "pixels"), default="classifier",
                        help="the neighbour search's space: the classifier's features (the pipeline's gallery) or "
                             "pixels (a gallery without a classifier; no forward pass over the set, so quicker)")
    parser.add_argument("--skip-training", action="store_true",
                        help="only preparation and what reads the set after training (the second table)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        fn = {"prepare": child_prepare, "input": child_input, "train": child_train, "classifier": child_classifier,
              "eval": child_eval, "neighbours": child_neighbours}[kind]
        print(json.dumps(fn(*[Path(rest[0]), *[Path(r) if "/" in r else int(r) if r.isdigit() else r
                                                for r in rest[1:]]])))
        return
    from kgan.cpu import summary_line

    shrink = {k: v for k, v in (("model.width", args.width), ("data.batch_size", args.batch),
                                ("data.shard_mb", args.shard_mb)) if v}
    os.environ["KGAN_BENCH_SHRINK"] = json.dumps(shrink)  # read by the child processes

    print(f"# {' '.join(shlex.quote(a) for a in ['python', 'bench/data_scale.py', *sys.argv[1:]])}")
    print(f"# {summary_line()}")
    print(f"# gpu_dcgan64 with {shrink or 'no changes'}")
    rows, after = [], []
    for n in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory(prefix=f"kgan-data-scale-{n}-") as tmp:
            tmp = Path(tmp)
            (tmp / "images").mkdir()
            started = time.perf_counter()
            write_pngs(tmp / "images", n)
            print(f"# N={n}: {n} PNGs written in {time.perf_counter() - started:.0f} s", flush=True)
            prep = run_child("prepare", tmp / "images", tmp / "prepared")
            print(f"# N={n}: prepared {prep}", flush=True)
            if not args.skip_training:
                pipe = run_child("input", tmp / "prepared", args.input_batches)
                print(f"# N={n}: input {pipe}", flush=True)
                fit = run_child("train", tmp / "prepared", args.steps, tmp / "run")
                print(f"# N={n}: train {fit}", flush=True)
                rows.append((n, prep, pipe, fit))
            clf = run_child("classifier", tmp / "prepared", args.classifier_steps, tmp / "clf.keras")
            print(f"# N={n}: classifier {clf}", flush=True)
            ev = run_child("eval", tmp / "prepared", args.eval_samples, tmp / "clf.keras")
            print(f"# N={n}: evaluation {ev}", flush=True)
            nn = run_child("neighbours", tmp / "prepared", tmp / "clf.keras", args.neighbours)
            print(f"# N={n}: neighbours {nn}", flush=True)
            after.append((n, prep, ev, clf, nn))
    if rows:
        print("\n| images | shards (MB) | prepare img/s | input pipeline img/s | DCGAN64 step img/s (s/step) | "
              "training peak RSS |")
        print("|---|---|---|---|---|---|")
    for n, prep, pipe, fit in rows:
        print(f"| {n:,} | {prep['shards']} ({prep['bytes'] / 2**20:.0f}) | {prep['images_per_s']:.0f} | "
              f"{pipe['images_per_s']:.0f} | {fit['images_per_s']:.1f} ({fit['step_s']:.2f}) | "
              f"{fit['peak_rss_mb']:.0f} MB |")
    print(f"\n| images | shards (MB) | (a) reference + evaluation peak RSS (s) | reference | (b) classifier peak RSS "
          f"(s) | (c) neighbour search ({args.neighbours}) peak RSS (s) |")
    print("|---|---|---|---|---|---|")
    for n, prep, ev, clf, nn in after:
        ref = ev["reference"]
        print(f"| {n:,} | {prep['shards']} ({prep['bytes'] / 2**20:.0f}) | {ev['peak_rss_mb']:.0f} MB "
              f"({ev['seconds']:.0f}) | {ref['images']:,} of {ref['of']:,} | {clf['peak_rss_mb']:.0f} MB "
              f"({clf['seconds']:.0f}) | {nn['peak_rss_mb']:.0f} MB ({nn['seconds']:.0f}; {nn['searched']:,} searched) |")
    series = {"training": [fit["peak_rss_mb"] for *_, fit in rows],
              "evaluation": [ev["peak_rss_mb"] for _, _, ev, _, _ in after],
              "classifier": [clf["peak_rss_mb"] for *_, clf, _ in after],
              "neighbours": [nn["peak_rss_mb"] for *_, nn in after]}
    print()
    for name, peaks in series.items():
        if not peaks:
            continue
        bounded = max(peaks) < args.rss_bound * 1024
        flat = len(peaks) < 2 or peaks[-1] <= peaks[0] * 1.10
        print(f"{name}: peak RSS under {args.rss_bound} GB: {'yes' if bounded else 'NO'}; not growing with N "
              f"(last <= first +10%): {'yes' if flat else 'NO'}")
    if rows:
        faster = all(pipe["images_per_s"] > fit["images_per_s"] for _, _, pipe, fit in rows)
        print(f"input pipeline faster than the step consumes: {'yes' if faster else 'NO'}")


if __name__ == "__main__":
    main()
