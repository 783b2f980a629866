"""Seconds to score 10,000 MNIST-sized samples with FID + IS + KID and the classifier extractor, before and after.

Usage: .venv/bin/python bench/metrics_speed.py [--classifier PATH.keras] [--n 10000] [--repeats 3]
Without --classifier a 10-epoch classifier is trained first (not timed). Samples are the MNIST
test digits shifted by one pixel (a stand-in for a good generator); the reference is MNIST.
Prints the feature pass and each metric separately; KID both ways, alternating in this one process (before: the
float64 loop over subsets that kgan used until the batched float32 computation replaced it, kept here to measure
against; after: `kernel_inception_distance`); then a full `evaluate` call with the reference features computed
(before: every call did this unless a cache directory was given), read from the disk cache, and kept in memory
(`kgan.metrics.feature_cache`). Times are wall seconds, with the process CPU seconds beside them.
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


def kid_float64_loop(x, y, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0) -> float:
    """KID as kgan computed it before: one subset at a time, float64 products (the same subsets)."""
    import numpy as np

    from kgan.metrics.kid import subset_indices

    def kernel(a, b):
        k = a @ b.T
        k /= a.shape[1]
        k += 1
        return k * k * k

    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    m = min(len(x), len(y), subset_size)
    values = []
    for ix, iy in zip(*subset_indices(len(x), len(y), m, num_subsets, seed)):
        a, b = x[ix], y[iy]
        kxx, kyy = kernel(a, a), kernel(b, b)
        same = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        values.append(same - 2 * kernel(a, b).sum() / (m * m))
    return float(np.mean(values))


class Clock:
    """Wall and process-CPU seconds of the block."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def __str__(self):
        return f"{self.wall:.2f} s (CPU {self.cpu:.2f} s)"


def main() -> None:
    print(summary_line())  # speed and bf16 figures depend on the CPU's instruction sets
    import numpy as np

    from kgan.data import load_arrays
    from kgan.metrics import (evaluate, feature_cache, fid, get_extractor, inception_score,
                              kernel_inception_distance, train_classifier)
    from kgan.metrics.stats import array_batches, extract

    parser = argparse.ArgumentParser()
    parser.add_argument("--classifier")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--repeats", type=int, default=3, help="alternating KID timings per implementation")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="kgan-bench-")
    x, y = load_arrays("mnist")
    clf = args.classifier or train_classifier(x, y, 10, f"{tmp}/clf.keras", seed=0)
    ext = get_extractor(f"classifier:{clf}")
    samples = np.roll(x, 1, axis=2)[: args.n]
    ref = extract(ext, array_batches(x, 250), len(x), progress=False)
    kernel_inception_distance(ref["features"][:100], ref["features"][:100], num_subsets=1)  # trace once

    with Clock() as feats:
        s = extract(ext, array_batches(samples, 250), len(samples), progress=False)
    with Clock() as fid_t:
        f = fid(s["stats"], ref["stats"])
    with Clock() as is_t:
        i = inception_score(s["probs"])
    loops, batched = [], []
    for _ in range(args.repeats):
        with Clock() as before:
            old = kid_float64_loop(s["features"], ref["features"])
        with Clock() as after:
            new = kernel_inception_distance(s["features"], ref["features"])["mean"]
        loops.append(before)
        batched.append(after)

    kw = dict(metrics="fid,is,kid", n=args.n, progress=False)
    feature_cache.forget()
    with Clock() as computed:
        evaluate(samples, x, ext, cache_dir=tmp, **kw)  # computes the reference features, writes the cache
    feature_cache.forget()
    with Clock() as from_disk:
        evaluate(samples, x, ext, cache_dir=tmp, **kw)
    with Clock() as in_memory:
        evaluate(samples, x, ext, cache_dir=tmp, **kw)

    def median(clocks, attr):
        return float(np.median([getattr(c, attr) for c in clocks]))

    kid_before, kid_after = median(loops, "wall"), median(batched, "wall")
    print("command:", " ".join([sys.executable, *sys.argv]))
    print(f"cpu cores visible: {os.cpu_count()}  samples: {len(samples)}  reference: {len(x)}")
    print(f"features {feats} | FID {fid_t} | IS {is_t}")
    print(f"KID (100 subsets x 1000), median of {args.repeats} alternating runs: before (float64 loop) "
          f"{kid_before:.2f} s (CPU {median(loops, 'cpu'):.2f} s), after (batched float32) {kid_after:.2f} s "
          f"(CPU {median(batched, 'cpu'):.2f} s): {kid_before / kid_after:.1f}x")
    print(f"KIDx1e3 before {1e3 * old:.6f} after {1e3 * new:.6f} (difference {1e3 * (new - old):.2e})")
    print(f"FID={f['value']:.3f} IS={i['mean']:.3f}")
    print(f"FID+IS+KID on {len(samples)} samples (features included): before "
          f"{feats.wall + fid_t.wall + is_t.wall + kid_before:.2f} s, after "
          f"{feats.wall + fid_t.wall + is_t.wall + kid_after:.2f} s")
    print(f"evaluate(metrics=fid,is,kid) incl. both reference points: reference features computed {computed} | "
          f"from the disk cache {from_disk} | in memory {in_memory}")


if __name__ == "__main__":
    main()
