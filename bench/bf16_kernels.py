"""The bfloat16 ceiling of the DCGAN step on this CPU: TensorFlow's (oneDNN) kernels of the tutorial's layers,
float32 against bfloat16, timed interleaved in one process.

Each convolution of the TF DCGAN tutorial (batch 256) runs as three kernels: forward, gradient of the input
(`Conv2DBackpropInput`, also a transposed convolution's forward pass) and gradient of the filter. A training step
of kgan's default (alternating) update calls them a known number of times (COUNTS, checked against
bench/profile_step.py's op table); the step's ceiling from bfloat16 is sum(count x float32 time) / sum(count x
bfloat16 time): what bfloat16 can give if everything else (elementwise ops, casts, the optimizer) were free.
`subpixel` rows: each transposed convolution replaced by a 3x3 convolution to 4x the channels + depth_to_space
(the same output size, about 1.4x the FLOPs), the usual way around slow transposed-convolution gradients.
Elementwise rows (LeakyReLU and its gradient, dropout, the casts mixed precision adds) on the largest activation.

Usage:  python bench/bf16_kernels.py [--reps 5] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kgan.cpu import summary_line  # noqa: E402

DTYPES = (tf.float32, tf.bfloat16)
# (name, input H, input channels, output channels, stride, kernel): each as a convolution X -> Y (a transposed
# convolution is the gradient of one: its forward pass is Conv2DBackpropInput of the conv Y_big -> X_small).
CONVS = {
    "G convT1 7x7 256->128": (7, 128, 256, 1, 5),
    "G convT2 7->14 128->64": (14, 64, 128, 2, 5),
    "G convT3 14->28 64->1": (28, 1, 64, 2, 5),
    "D conv1 28->14 1->64": (28, 1, 64, 2, 5),
    "D conv2 14->7 64->128": (14, 64, 128, 2, 5),
}
# kernel calls per alternating step: (forward, input gradient, filter gradient)
COUNTS = {
    "G convT1 7x7 256->128": (1, 1, 1),  # convT: forward = input gradient; backward = forward + filter gradient
    "G convT2 7->14 128->64": (1, 1, 1),
    "G convT3 14->28 64->1": (1, 1, 1),
    "D conv1 28->14 1->64": (3, 1, 2),  # D on real, on fakes, on fakes after its update; D's and G's gradients
    "D conv2 14->7 64->128": (3, 3, 2),
}
# sub-pixel replacements of the strided transposed convolutions: 3x3 conv on the low-resolution grid to 4x channels
SUBPIXEL = {
    "G convT2 7->14 128->64": (7, 128, 4 * 64, 1, 3),
    "G convT3 14->28 64->1": (14, 64, 4 * 1, 1, 3),
}


def _timed(fn, args, reps: int) -> float:
    """Median seconds of `reps` calls after one warm-up (each call synced to the host)."""
    fn(*args).numpy()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(*args).numpy()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def conv_kernels(batch: int, h: int, cin: int, cout: int, stride: int, k: int, dtype):
    """(forward, input gradient, filter gradient): (tf.function, args) of one convolution's three kernels."""
    x = tf.cast(tf.random.normal([batch, h, h, cin]), dtype)
    w = tf.cast(tf.random.normal([k, k, cin, cout]) * 0.05, dtype)
    y = tf.cast(tf.random.normal([batch, h // stride, h // stride, cout]), dtype)
    strides = [1, stride, stride, 1]
    fwd = tf.function(lambda x, w: tf.nn.conv2d(x, w, strides, "SAME"))
    bwd_input = tf.function(lambda y, w: tf.nn.conv2d_transpose(y, w, [batch, h, h, cin], strides, "SAME"))
    bwd_filter = tf.function(lambda x, y: tf.compat.v1.nn.conv2d_backprop_filter(x, [k, k, cin, cout], y, strides,
                                                                                 "SAME"))
    return (fwd, (x, w)), (bwd_input, (y, w)), (bwd_filter, (x, y))


def elementwise_kernels(batch: int, dtype):
    x = tf.cast(tf.random.normal([batch, 14, 14, 64]), dtype)
    seed = tf.constant([1, 2])
    leaky = tf.function(lambda x: tf.nn.leaky_relu(x, 0.2))
    leaky_grad = tf.function(lambda x: tf.raw_ops.LeakyReluGrad(gradients=x, features=x, alpha=0.2))
    dropout = tf.function(lambda x: tf.nn.experimental.stateless_dropout(x, 0.3, seed))
    to_f32 = tf.function(lambda x: tf.cast(x, tf.float32) if x.dtype != tf.float32 else tf.identity(x))
    return {"LeakyReLU 256x14x14x64": (leaky, (x,)), "LeakyReluGrad": (leaky_grad, (x,)),
            "dropout(0.3) (random uniform + select)": (dropout, (x,)), "cast to float32": (to_f32, (x,))}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=5, help="timed calls per kernel and dtype (median)")
    p.add_argument("--batch", type=int, default=256)
    args = p.parse_args(argv)
    print(f"TF {tf.__version__}, {summary_line()}")
    print(f"batch {args.batch}, median of {args.reps} calls, float32 and bfloat16 interleaved per kernel\n")
    print("| kernel | calls/step | float32 ms | bfloat16 ms | bf16 speed-up | float32 GFLOP/s | bfloat16 GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    step = {dt: 0.0 for dt in DTYPES}
    subpixel_step = {dt: 0.0 for dt in DTYPES}

    def row(label, calls, kernels, flops):
        ms = {}
        for round_ in range(2):  # two rounds, alternating the order, so drift hits both dtypes alike
            for dt in (DTYPES if round_ == 0 else DTYPES[::-1]):
                fn, fargs = kernels[dt]
                ms.setdefault(dt, []).append(1000 * _timed(fn, fargs, args.reps))
        ms = {dt: min(v) for dt, v in ms.items()}
        gf = (f"{flops / ms[tf.float32] / 1e6:.0f} | {flops / ms[tf.bfloat16] / 1e6:.0f}" if flops else "- | -")
        print(f"| {label} | {calls} | {ms[tf.float32]:.1f} | {ms[tf.bfloat16]:.1f} | "
              f"{ms[tf.float32] / ms[tf.bfloat16]:.2f}x | {gf} |", flush=True)
        return ms

    for name, (h, cin, cout, stride, k) in CONVS.items():
        kernels = {dt: conv_kernels(args.batch, h, cin, cout, stride, k, dt) for dt in DTYPES}
        flops = 2 * args.batch * (h // stride) ** 2 * cout * k * k * cin
        for i, kind in enumerate(("forward", "input gradient", "filter gradient")):
            ms = row(f"{name} {kind}", COUNTS[name][i], {dt: kernels[dt][i] for dt in DTYPES}, flops)
            for dt in DTYPES:
                step[dt] += COUNTS[name][i] * ms[dt]
                if name not in SUBPIXEL:
                    subpixel_step[dt] += COUNTS[name][i] * ms[dt]
    for name, (h, cin, cout, stride, k) in SUBPIXEL.items():
        kernels = {dt: conv_kernels(args.batch, h, cin, cout, stride, k, dt) for dt in DTYPES}
        flops = 2 * args.batch * h * h * cout * k * k * cin
        for i, kind in enumerate(("forward", "input gradient", "filter gradient")):
            ms = row(f"subpixel {name} {kind}", 1, {dt: kernels[dt][i] for dt in DTYPES}, flops)
            for dt in DTYPES:
                subpixel_step[dt] += ms[dt]
    elementwise = {dt: elementwise_kernels(args.batch, dt) for dt in DTYPES}
    for label in elementwise[tf.float32]:
        row(label, "-", {dt: elementwise[dt][label] for dt in DTYPES}, 0)

    print(f"\nconvolution kernels of one alternating step: float32 {step[tf.float32]:.0f} ms, bfloat16 "
          f"{step[tf.bfloat16]:.0f} ms: ceiling {step[tf.float32] / step[tf.bfloat16]:.2f}x from bfloat16")
    print(f"with sub-pixel upsampling in G: float32 {subpixel_step[tf.float32]:.0f} ms, bfloat16 "
          f"{subpixel_step[tf.bfloat16]:.0f} ms: {subpixel_step[tf.float32] / subpixel_step[tf.bfloat16]:.2f}x; "
          f"bfloat16 sub-pixel vs float32 transposed {step[tf.float32] / subpixel_step[tf.bfloat16]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
