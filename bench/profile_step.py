"""Where a training step's time goes: TensorFlow's profiler around a few steps of one `train_throughput` config,
then the ops ranked by self time (time inside an op's kernel minus the ops nested in it), per step.

Usage:  python bench/profile_step.py --config kgan_bf16 [--steps 4] [--warmup 8] [--top 25] [--batch 256]
Configs are bench/train_throughput.py's (kgan, plain, kgan_bf16, ...). Two tables: by op type (oneDNN kernels
show as `_MklNative...`; `Cast` is what mixed precision adds) and by op instance (the layer is in its name).
Times are the kernels' wall time on TensorFlow's inter-op threads; ops run in parallel on 2+ cores, so the
column can sum to more than the step's wall time. The trace is kept under --logdir for TensorBoard's profile tab.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

from kgan.cpu import summary_line  # noqa: E402
from train_throughput import ALL_CONFIGS, make_runner  # noqa: E402  (run as a script: bench/ is on sys.path)

HOST_PLANE = "/host:CPU"


def op_self_times(xspace: xplane_pb2.XSpace) -> list[tuple[str, str, float]]:
    """(op name, op type, self seconds) for every op kernel event of the host plane. An op event is one whose
    metadata has a display name (the op type); nesting is per thread line, by time containment."""
    out = []
    for plane in xspace.planes:
        if plane.name != HOST_PLANE:
            continue
        for line in plane.lines:
            events = []
            for ev in line.events:
                md = plane.event_metadata[ev.metadata_id]
                if md.display_name:
                    events.append((ev.offset_ps, ev.offset_ps + ev.duration_ps, md.name, md.display_name))
            events.sort(key=lambda e: (e[0], -e[1]))
            stack: list[list] = []  # [end, name, type, self_ps]
            for start, end, name, op_type in events:
                while stack and stack[-1][0] <= start:
                    out.append(_closed(stack.pop()))
                if stack:  # nested: not the parent's own time
                    stack[-1][3] -= end - start
                stack.append([end, name, op_type, end - start])
            out.extend(_closed(e) for e in reversed(stack))
    return out


def _closed(entry) -> tuple[str, str, float]:
    _, name, op_type, self_ps = entry
    return name.rsplit(":", 1)[0], op_type, self_ps * 1e-12


def ranked(rows, key_index: int, steps: int, top: int) -> list[tuple[str, float, float]]:
    """(key, calls per step, self ms per step), largest first."""
    total, calls = collections.defaultdict(float), collections.Counter()
    for row in rows:
        total[row[key_index]] += row[2]
        calls[row[key_index]] += 1
    order = sorted(total, key=total.get, reverse=True)[:top]
    return [(k, calls[k] / steps, 1000 * total[k] / steps) for k in order]


def print_table(title: str, rows, all_ms: float) -> None:
    print(f"\n{title}\n| op | calls/step | self ms/step | share |\n|---|---|---|---|")
    for key, calls, ms in rows:
        print(f"| {key} | {calls:g} | {ms:.1f} | {100 * ms / all_ms:.1f}% |")


def profile(config: str, steps: int, warmup: int, batch: int, logdir: Path) -> tuple[list, float]:
    runner = make_runner(config, batch)
    runner.trial(warmup)  # trace, compile, fill caches: not profiled
    options = tf.profiler.experimental.ProfilerOptions(host_tracer_level=2, python_tracer_level=0,
                                                       device_tracer_level=0)
    tf.profiler.experimental.start(str(logdir), options=options)
    t0 = time.perf_counter()
    runner.trial(steps)
    wall = time.perf_counter() - t0
    tf.profiler.experimental.stop()
    traces = sorted(logdir.glob("**/*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    xspace = xplane_pb2.XSpace()
    xspace.ParseFromString(traces[-1].read_bytes())
    return op_self_times(xspace), wall


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", default="kgan", choices=ALL_CONFIGS)
    p.add_argument("--steps", type=int, default=4, help="profiled steps")
    p.add_argument("--warmup", type=int, default=8, help="unprofiled steps first")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--logdir", type=Path, default=None, help="where the trace is kept (default: a temp dir)")
    args = p.parse_args(argv)
    logdir = args.logdir or Path(tempfile.mkdtemp(prefix="kgan-profile-"))
    print(f"TF {tf.__version__}, {summary_line()}")
    rows, wall = profile(args.config, args.steps, args.warmup, args.batch, logdir)
    all_ms = 1000 * sum(r[2] for r in rows) / args.steps
    print(f"{args.config}: batch {args.batch}, {args.steps} profiled steps, {1000 * wall / args.steps:.0f} ms/step wall "
          f"(profiler on), op self time {all_ms:.0f} ms/step; trace in {logdir}")
    print_table("By op type", ranked(rows, 1, args.steps, args.top), all_ms)
    print_table("By op", ranked(rows, 0, args.steps, args.top), all_ms)
    return 0


if __name__ == "__main__":
    sys.exit(main())
