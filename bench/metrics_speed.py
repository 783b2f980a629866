"""Seconds to score 10,000 MNIST-sized samples with FID + IS + KID and the classifier extractor.

Usage: .venv/bin/python bench/metrics_speed.py [--classifier PATH.keras] [--n 10000]
Without --classifier a 10-epoch classifier is trained first (not timed). Samples are the MNIST
test digits shifted by one pixel (a stand-in for a good generator); the reference is MNIST.
Prints the feature pass and each metric separately, then a full `evaluate` call with a warm
reference cache (which also scores both reference points).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

from kgan.cpu import summary_line

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main() -> None:
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np

    from kgan.data import load_arrays
    from kgan.metrics import (evaluate, fid, get_extractor, inception_score,
                              kernel_inception_distance, train_classifier)
    from kgan.metrics.stats import array_batches, extract

    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier")
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="kgan-bench-")
    x, y = load_arrays("mnist")
    clf = args.classifier or train_classifier(x, y, 10, f"{tmp}/clf.keras", seed=0)
    ext = get_extractor(f"classifier:{clf}")
    samples = np.roll(x, 1, axis=2)[: args.n]
    ref = extract(ext, array_batches(x, 250), len(x), progress=False)

    t0 = time.perf_counter()
    s = extract(ext, array_batches(samples, 250), len(samples), progress=False)
    t1 = time.perf_counter()
    f = fid(s["stats"], ref["stats"])
    t2 = time.perf_counter()
    i = inception_score(s["probs"])
    t3 = time.perf_counter()
    k = kernel_inception_distance(s["features"], ref["features"])
    t4 = time.perf_counter()

    kw = dict(metrics="fid,is,kid", n=args.n, cache_dir=tmp, progress=False)
    evaluate(samples, x, ext, **kw)  # fills the reference cache
    t5 = time.perf_counter()
    evaluate(samples, x, ext, **kw)
    t6 = time.perf_counter()

    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"cpu cores visible: {os.cpu_count()}  samples: {len(samples)}  reference: {len(x)}")
    print(f"features {t1 - t0:.2f}s | FID {t2 - t1:.2f}s | IS {t3 - t2:.2f}s | "
          f"KID (100x1000) {t4 - t3:.2f}s")
    print(f"FID={f['value']:.3f} IS={i['mean']:.3f} KIDx1e3={1e3 * k['mean']:.3f}")
    print(f"FID+IS+KID on {len(samples)} samples (features included): {t4 - t0:.2f} s")
    print(f"evaluate(metrics=fid,is,kid) with warm reference cache, incl. both reference "
          f"points: {t6 - t5:.2f} s")


if __name__ == "__main__":
    main()
