"""Training throughput: kgan's engine vs a plain two-tape `tf.function` loop, DCGAN on MNIST 28x28.

Architecture, optimizer and batch are the TensorFlow DCGAN tutorial's (tensorflow.org/tutorials/generative/dcgan):
generator Dense(7*7*256)-BN-LReLU-Reshape-ConvT(128,5,s1)-BN-LReLU-ConvT(64,5,s2)-BN-LReLU-ConvT(1,5,s2,tanh),
discriminator Conv(64,5,s2)-LReLU-Drop(.3)-Conv(128,5,s2)-LReLU-Drop(.3)-Flatten-Dense(1), Adam(1e-4), batch 256.

Configurations, measured in one process with trials alternating between them (so machine noise hits all alike):
  kgan          kgan.models.GAN(..., ema=0).fit() on kgan's input pipeline (feature_dataset: autotune off)
  plain         the tutorial's @tf.function train_step (one tape pair, simultaneous D/G update), kgan pipeline
  plain_alt     a @tf.function loop doing what kgan's default step does (D update, then the G update on the
                same fakes through the updated D): separates the cost of the algorithm from the framework's
  kgan_sim      kgan with train.update = "simultaneous": the tutorial's algorithm, so kgan vs plain is like for like
  kgan_jit      kgan with jit_compile=True
  kgan_spe8     kgan with steps_per_execution=8
  tutorial_data the plain loop on the tutorial's own pipeline (from_tensor_slices(x).shuffle(60000).batch(256),
                tf.data autotune on, a fresh iterator per epoch as in the tutorial's `for batch in dataset`)
  *_bf16        the same config under Keras' `mixed_bfloat16` policy (bfloat16 compute, float32 weights; each
                network's last layer float32, as Keras' mixed-precision guide and kgan's nets do): only worth it
                on a CPU with native bfloat16 (AVX512_BF16 / AMX; the header's `bfloat16 native`)

Usage:  python bench/train_throughput.py [--steps 64] [--trials 3] [--batch 256] [--configs kgan,plain,...]
Step times come from a callback at each batch end (fit; divided by steps_per_execution) or perf_counter around
each step (plain loops), with a host sync per step in both so the numbers are comparable on GPU too; the table gives
their distribution over every timed step of every trial (p10 / p50 / p90 and max), not only a mean.
Peak RSS is the process high-water mark (ru_maxrss), cumulative over the configs run so far.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import shlex
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from kgan.cpu import summary_line  # noqa: E402
from kgan.config import DataConfig  # noqa: E402
from kgan.data import load_arrays  # noqa: E402
from kgan.data.features import feature_dataset  # noqa: E402
from kgan.models import GAN  # noqa: E402

NOISE_DIM = 100
BASE_CONFIGS = ("kgan", "plain", "kgan_sim", "plain_alt", "kgan_jit", "kgan_spe8", "tutorial_data")
BF16 = "_bf16"
ALL_CONFIGS = BASE_CONFIGS + ("kgan_bf16", "plain_bf16", "kgan_sim_bf16", "plain_alt_bf16")


# ----- the tutorial's models ------------------------------------------------------------------------------------

def tutorial_generator() -> keras.Model:
    return keras.Sequential([
        keras.Input((NOISE_DIM,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh", dtype="float32"),
    ], name="generator")


def tutorial_discriminator() -> keras.Model:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1, dtype="float32"),
    ], name="discriminator")


# ----- pipelines --------------------------------------------------------------------------------------------------

def kgan_pipeline(batch: int) -> tf.data.Dataset:
    """What `kgan train` feeds the engine: named-feature batches ({"image", "label"})."""
    return feature_dataset(DataConfig(batch_size=batch), seed=0, repeat=True)


def tutorial_pipeline(batch: int) -> tf.data.Dataset:
    x, _ = load_arrays("mnist")
    x = (x.astype("float32") - 127.5) / 127.5
    return tf.data.Dataset.from_tensor_slices(x).shuffle(60000).batch(batch)


# ----- runners: each returns (per-step seconds, images) for one trial -----------------------------------------

class StepTimer(keras.callbacks.Callback):
    def __init__(self, spe: int):
        super().__init__()
        self.spe, self.times = spe, []

    def on_train_begin(self, logs=None):
        self.last = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        float(logs["g_loss"])  # host sync, as the plain loop does
        now = time.perf_counter()
        self.times += [(now - self.last) / self.spe] * self.spe
        self.last = now


class KganRunner:
    def __init__(self, batch: int, jit: bool = False, spe: int = 1, simultaneous: bool = False):
        keras.utils.set_random_seed(0)
        self.batch, self.spe = batch, spe
        self.gan = GAN(tutorial_generator(), tutorial_discriminator(), latent_dim=NOISE_DIM,
                       image_shape=(28, 28, 1), ema=0, seed=0, simultaneous=simultaneous)
        self.gan.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4), jit_compile=jit,
                         steps_per_execution=spe)
        self.dataset = kgan_pipeline(batch)

    def trial(self, steps: int):
        timer = StepTimer(self.spe)
        self.gan.fit(self.dataset, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False, callbacks=[timer])
        return timer.times, steps * self.batch


class PlainRunner:
    """The tutorial's train_step; `alternating` = D update then G update (kgan's algorithm)."""

    def __init__(self, batch: int, alternating: bool = False, tutorial_data: bool = False):
        keras.utils.set_random_seed(0)
        self.batch = batch
        self.generator, self.discriminator = tutorial_generator(), tutorial_discriminator()
        self.g_opt, self.d_opt = keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4)
        self.tutorial_data = tutorial_data
        self.dataset = tutorial_pipeline(batch) if tutorial_data else kgan_pipeline(batch)
        self._epoch_iter = None
        self.epoch_start_times = []  # step times of the first batch of each fresh tutorial-pipeline iterator
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        G, D = self.generator, self.discriminator

        def d_loss_fn(real_out, fake_out):
            return bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)

        def g_loss_fn(fake_out):
            return bce(tf.ones_like(fake_out), fake_out)

        @tf.function
        def simultaneous(images):
            noise = tf.random.normal([tf.shape(images)[0], NOISE_DIM])
            with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
                generated = G(noise, training=True)
                real_out = D(images, training=True)
                fake_out = D(generated, training=True)
                gen_loss = g_loss_fn(fake_out)
                disc_loss = d_loss_fn(real_out, fake_out)
            g_grads = gen_tape.gradient(gen_loss, G.trainable_variables)
            d_grads = disc_tape.gradient(disc_loss, D.trainable_variables)
            self.g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
            self.d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
            return gen_loss

        @tf.function
        def alternating_step(images):
            n = tf.shape(images)[0]
            with tf.GradientTape() as gen_tape:
                generated = G(tf.random.normal([n, NOISE_DIM]), training=True)
                with gen_tape.stop_recording(), tf.GradientTape() as tape:
                    disc_loss = d_loss_fn(D(images, training=True), D(generated, training=True))
                with gen_tape.stop_recording():
                    d_grads = tape.gradient(disc_loss, D.trainable_variables)
                    self.d_opt.apply_gradients(zip(d_grads, D.trainable_variables))
                gen_loss = g_loss_fn(D(generated, training=True))  # the same fakes, through the updated D
            g_grads = gen_tape.gradient(gen_loss, G.trainable_variables)
            self.g_opt.apply_gradients(zip(g_grads, G.trainable_variables))
            return gen_loss

        self.step = alternating_step if alternating else simultaneous

    def _batches(self):
        if not self.tutorial_data:  # kgan pipeline: infinite; a fresh iterator per trial, as fit() makes
            yield from self.dataset
            return
        while True:  # the tutorial: `for epoch ...: for image_batch in dataset` -> a new iterator per epoch
            fresh = self._epoch_iter is None
            if fresh:
                self._epoch_iter = iter(self.dataset)
            try:
                batch = next(self._epoch_iter)
            except StopIteration:
                self._epoch_iter = None
                continue
            self._fresh = fresh
            yield batch

    def warm_partial_batch(self):
        """The tutorial's last batch per epoch is partial (10000 % 256 = 16): trace that shape up front so the
        one-time retrace is not counted as a pipeline stall."""
        float(self.step(tf.zeros((10000 % self.batch or self.batch, 28, 28, 1))))

    def trial(self, steps: int):
        times, images = [], 0
        it = self._batches()
        last = time.perf_counter()
        for _ in range(steps):
            self._fresh = False
            batch = next(it)
            x = batch["image"] if isinstance(batch, dict) else batch[0] if isinstance(batch, tuple) else batch
            float(self.step(x))  # host sync per step
            images += int(x.shape[0])
            now = time.perf_counter()
            times.append(now - last)
            if self._fresh:
                self.epoch_start_times.append(now - last)
            last = now
        return times, images


@contextlib.contextmanager
def precision(policy: str):
    """Build under a Keras global dtype policy (layers keep the policy they were built with)."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def make_runner(name: str, batch: int):
    base, bf16 = (name[:-len(BF16)], True) if name.endswith(BF16) else (name, False)
    with precision("mixed_bfloat16" if bf16 else "float32"):
        return _make_runner(base, batch)


def _make_runner(name: str, batch: int):
    return {
        "kgan": lambda: KganRunner(batch),
        "kgan_jit": lambda: KganRunner(batch, jit=True),
        "kgan_spe8": lambda: KganRunner(batch, spe=8),
        "kgan_sim": lambda: KganRunner(batch, simultaneous=True),
        "plain": lambda: PlainRunner(batch),
        "plain_alt": lambda: PlainRunner(batch, alternating=True),
        "tutorial_data": lambda: PlainRunner(batch, tutorial_data=True),
    }[name]()


def peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=64, help="timed steps per trial per config (rounded up to x8)")
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--warmup", type=int, default=8, help="untimed steps per config before the trials")
    p.add_argument("--configs", default=",".join(ALL_CONFIGS), help=f"comma list from {ALL_CONFIGS}")
    args = p.parse_args(argv)
    steps = -(-args.steps // 8) * 8
    warmup = max(8, -(-args.warmup // 8) * 8)
    names = [n.strip() for n in args.configs.split(",") if n.strip()]
    unknown = sorted(set(names) - set(ALL_CONFIGS))
    if unknown:
        p.error(f"unknown configs {unknown}; choose from {ALL_CONFIGS}")

    print(f"command: {shlex.join([sys.executable, *sys.argv])}")
    print(f"TF {tf.__version__}, Keras {keras.__version__}, {summary_line()}, "
          f"GPUs: {len(tf.config.list_physical_devices('GPU'))}")
    runners, setup_s, rss_after_setup = {}, {}, {}
    for name in names:
        t0 = time.perf_counter()
        runners[name] = make_runner(name, args.batch)
        if name == "tutorial_data":
            runners[name].warm_partial_batch()
        runners[name].trial(warmup)  # trace / compile / fill caches
        setup_s[name] = time.perf_counter() - t0
        rss_after_setup[name] = peak_rss_mib()
        print(f"  {name}: build + {warmup} warm-up steps {setup_s[name]:.1f}s, peak RSS {rss_after_setup[name]:.0f} MiB",
              flush=True)

    rates = {n: [] for n in names}
    step_times = {n: [] for n in names}
    for trial in range(args.trials):
        order = names if trial % 2 == 0 else names[::-1]  # alternate the order too
        for name in order:
            t0 = time.perf_counter()
            times, images = runners[name].trial(steps)
            wall = time.perf_counter() - t0
            rates[name].append(images / wall)
            step_times[name] += times
            print(f"  trial {trial + 1} {name}: {images / wall:.0f} img/s", flush=True)

    print()
    print(f"batch {args.batch}, {args.trials} trials x {steps} steps per config (alternating), "
          f"{warmup} warm-up steps")
    print()
    ref = "plain" if "plain" in rates else None
    print("| config | img/s median of trials | best trial | vs plain (median / best) | step p10 / p50 / p90 ms "
          "| max ms | setup s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for name in names:
        r = np.array(rates[name])
        st = np.array(step_times[name]) * 1000
        ratio = (f"{np.median(r) / np.median(rates[ref]):.2f} / {r.max() / max(rates[ref]):.2f}" if ref else "-")
        spread = " / ".join(f"{v:.1f}" for v in np.percentile(st, [10, 50, 90]))
        print(f"| {name} | {np.median(r):.0f} | {r.max():.0f} | {ratio} | {spread} | {st.max():.1f} | "
              f"{setup_s[name]:.1f} | {rss_after_setup[name]:.0f} |")
    if ref and "kgan" in rates:
        per_trial = [k / p for k, p in zip(rates["kgan"], rates[ref])]
        print(f"\nkgan/plain per trial: {', '.join(f'{x:.2f}' for x in per_trial)}")
        for ours, theirs in (("kgan_sim", "plain"), ("kgan", "plain_alt")):  # like-for-like algorithm pairs
            if ours in rates and theirs in rates:
                per_trial = [k / p for k, p in zip(rates[ours], rates[theirs])]
                print(f"{ours}/{theirs} (same algorithm) per trial: {', '.join(f'{x:.2f}' for x in per_trial)}")
    for name in names:  # bfloat16 against float32 of the same config
        base = name[:-len(BF16)]
        if name.endswith(BF16) and base in rates:
            per_trial = [b / f for b, f in zip(rates[name], rates[base])]
            print(f"{name}/{base} per trial: {', '.join(f'{x:.2f}' for x in per_trial)} "
                  f"(median of trials {np.median(rates[name]) / np.median(rates[base]):.2f})")
    if "tutorial_data" in runners:
        es = np.array(runners["tutorial_data"].epoch_start_times) * 1000
        if len(es):
            print(f"tutorial pipeline, first step of each new epoch iterator (n={len(es)}): "
                  f"median {np.median(es):.0f} ms, max {es.max():.0f} ms")
    print(f"peak RSS (whole process): {peak_rss_mib():.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
