"""Training runs: `fit()` wiring around the engine.

A run directory holds everything needed to resume, sample, export and render (layout in
DESIGN.md). Checkpoints carry both networks, the EMA generator, both optimizers (their
`iterations` is the step counter) and the seed generator state, so a resumed run continues the
same random stream. Killing a run loses at most the steps since the last checkpoint.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from kgan import distribute, io, runs
from kgan.config import ExperimentConfig, dump_toml, load_config
from kgan.distribute import choose_strategy
from kgan.errors import CheckpointError, TrainingDivergedError
from kgan.imageio import to_uint8
from kgan.models import build_gan, build_optimizers
from kgan.runs import read_run_info  # noqa: F401 - re-exported: tasks and tests read run.json through here

FIXED_SAMPLES = 64


def _checkpoint(gan) -> tf.train.Checkpoint:
    # A LossScaleOptimizer (mixed_float16) is checkpointed as its inner optimizer, so that checkpoints stay
    # interchangeable between precision policies (the loss scale re-calibrates in a few steps).
    def plain(opt):
        return getattr(opt, "inner_optimizer", opt)

    return tf.train.Checkpoint(gan=gan, d_optimizer=plain(gan.d_optimizer), g_optimizer=plain(gan.g_optimizer),
                               seed_state=gan.seed_generator.state)


def current_step(gan) -> int:
    return int(gan.g_optimizer.iterations.numpy())


def crossed_multiple(last: int, step: int, every: int) -> bool:
    """Whether a multiple of `every` lies in (last, step]: with steps_per_execution > 1 (or after a restore)
    callbacks see the step jump, so "step % every == 0" would miss points."""
    return step > 0 and step // every > last // every


def build_compiled(cfg: ExperimentConfig, lr_scale: float = 1.0):
    gan = build_gan(cfg)
    gan.compile(*build_optimizers(cfg, lr_scale), jit_compile=cfg.train.jit_compile,
                steps_per_execution=cfg.train.steps_per_execution)
    return gan


def load_run(run_dir: str | Path, checkpoint: str | None = None):
    """(cfg, gan, step) restored from a run directory's latest checkpoint (or the given one)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise CheckpointError(f"{run_dir}: not a kgan run directory (no config.toml)")
    cfg = load_config(config_path)
    gan = build_compiled(cfg)
    path = checkpoint or tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    if not path:
        raise CheckpointError(f"{run_dir / 'checkpoints'}: no checkpoint to restore")
    try:
        _checkpoint(gan).restore(path).expect_partial()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:  # IndexError: truncated file
        raise CheckpointError(f"{path}: checkpoint is unreadable or does not match the config ({e})") from None
    return cfg, gan, current_step(gan)


def fixed_inputs(cfg: ExperimentConfig, run_dir: Path, gan) -> dict:
    """The fixed inputs every snapshot renders; drawn once per run so progress is comparable (`kgan.runs`)."""
    return runs.load_or_create_fixed_inputs(runs.RunLayout(run_dir), gan.inference_inputs(), FIXED_SAMPLES,
                                            cfg.seed)


class RunLogger(keras.callbacks.Callback):
    """Checkpoints, fixed-z snapshots, CSV history, progress line and the divergence guard."""

    def __init__(self, cfg: ExperimentConfig, run_dir: Path, manager: tf.train.CheckpointManager,
                 total_steps: int, verbose: bool = True):
        super().__init__()
        self.cfg, self.run_dir, self.manager = cfg, run_dir, manager
        self.total_steps, self.verbose = total_steps, verbose
        self.fixed_inputs = None  # drawn in on_train_begin, when the model is known
        self.history_path = run_dir / "logs" / "history.csv"
        self.events_path = run_dir / "logs" / "events.log"
        self.t0 = time.time()
        self.last_checkpoint_step = self.last_snapshot_step = self.last_log_step = 0
        self._window_start = (time.time(), 0)
        self.restores = 0
        self.tensorboard = tf.summary.create_file_writer(str(run_dir / "logs" / "tensorboard"))

    @property
    def step(self) -> int:
        return current_step(self.model)

    def event(self, message: str, step: int | None = None) -> None:
        step = self.step if step is None else step
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.events_path, "a") as f:
            f.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} step {step}: {message}\n")
        print(f"[kgan] {message}", file=sys.stderr, flush=True)

    def on_train_begin(self, logs=None):
        self.fixed_inputs = fixed_inputs(self.cfg, self.run_dir, self.model)
        step = self.step
        self._window_start = (time.time(), step)
        self.last_log_step = self.last_checkpoint_step = step
        if step == 0:
            self.snapshot()
        self.last_snapshot_step = step

    def on_train_batch_end(self, batch, logs=None):
        step, t = self.step, self.cfg.train
        if self.guard_divergence():
            return
        # Checkpoint last: everything written for this step must be on disk before a resume point
        # covers it, or a kill between the two would lose the step's log row for good.
        if crossed_multiple(self.last_log_step, step, t.log_every):
            self.log(logs or {})
        if crossed_multiple(self.last_snapshot_step, step, t.snapshot_every):
            self.snapshot()
        if crossed_multiple(self.last_checkpoint_step, step, t.checkpoint_every):
            self.checkpoint()

    def on_train_end(self, logs=None):
        if self.step != self.last_checkpoint_step:
            self.checkpoint()
        if self.step != self.last_snapshot_step:
            self.snapshot()

    def checkpoint(self):
        self.manager.save(checkpoint_number=self.step)
        self.last_checkpoint_step = self.step

    def snapshot(self):
        images = to_uint8(self.model.infer(self.fixed_inputs))
        with io.atomic_path(self.run_dir / "snapshots" / f"step_{self.step:07d}.npz") as tmp:
            np.savez_compressed(tmp, images=images, step=self.step)
        self.last_snapshot_step = self.step

    def log(self, logs: dict):
        step = self.step
        now = time.time()
        t_start, s_start = self._window_start
        rate = (step - s_start) * self.cfg.data.batch_size / max(now - t_start, 1e-9)
        self._window_start = (now, step)
        row = {"step": step, "wall_time": round(now - self.t0, 3), "images_per_sec": round(rate, 1),
               **{k: float(v) for k, v in logs.items()}}
        new_file = not self.history_path.exists()
        self.history_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.history_path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        with self.tensorboard.as_default(step=step):
            for name, value in row.items():
                if name != "step":
                    tf.summary.scalar(name, value)
        self.tensorboard.flush()
        self.last_log_step = step
        if self.verbose:
            eta = (self.total_steps - step) / max(rate / self.cfg.data.batch_size, 1e-9)
            terms = " ".join(f"{k}={float(v):.3f}" for k, v in logs.items() if k in ("d_loss", "g_loss", "d_real",
                                                                                       "d_fake", "w_distance"))
            print(f"step {step}/{self.total_steps} ({100 * step / self.total_steps:.0f}%) {terms} "
                  f"{rate:.0f} img/s eta {eta:.0f}s", file=sys.stderr, flush=True)

    def guard_divergence(self) -> bool:
        """After `nan_patience` consecutive non-finite steps: restore the last checkpoint, lower the lr."""
        bad = int(self.model.nonfinite_steps.numpy())
        if bad < self.cfg.train.nan_patience:
            return False
        self.restores += 1
        if self.restores > self.cfg.train.max_restores:
            self.model.stop_training = True
            self.event(f"divergence: {bad} non-finite steps after {self.cfg.train.max_restores} restores; stopping")
            return True
        factor = self.cfg.train.divergence_lr_factor
        # (a non-chief worker's own manager is empty until its first save: fall back to what the run resumed from)
        latest = self.manager.latest_checkpoint or getattr(self, "resumed_from", None)
        if latest:
            _checkpoint(self.model).restore(latest).expect_partial()
        for opt in (self.model.d_optimizer, self.model.g_optimizer):
            opt.learning_rate.assign(opt.learning_rate * factor)
        self.model.nonfinite_steps.assign(0)
        self.event(f"divergence: {bad} non-finite steps; restored {latest or 'nothing (no checkpoint yet)'}, "
                   f"learning rates x{factor} -> d {float(self.model.d_optimizer.learning_rate):.3g}, "
                   f"g {float(self.model.g_optimizer.learning_rate):.3g}")
        return True


def _check_resumable(cfg: ExperimentConfig, run_dir: Path) -> None:
    saved = load_config(run_dir / "config.toml")
    for section in ("data", "model"):
        if saved.section_hash(section) != cfg.section_hash(section):
            raise CheckpointError(f"{run_dir}: the run was trained with a different [{section}] section; "
                                  f"use a new --out directory or --no-resume")


def train(cfg: ExperimentConfig, run_dir: str | Path, *, resume: bool = True, verbose: bool = True,
          dataset: tf.data.Dataset | None = None, callbacks=()) -> keras.Model:
    """Train (or resume) a run until `cfg.train.steps` generator updates; returns the GAN."""
    run_dir = Path(run_dir)
    # First, before other TensorFlow work (MultiWorkerMirroredStrategy configures collectives at startup).
    strategy = choose_strategy(cfg.train.strategy)
    ckpt_dir = run_dir / "checkpoints"
    has_checkpoint = tf.train.latest_checkpoint(str(ckpt_dir)) is not None
    if has_checkpoint and not resume:
        raise CheckpointError(f"{run_dir}: already holds checkpoints; resume it or choose another --out")
    if has_checkpoint:
        _check_resumable(cfg, run_dir)
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    run_dir.mkdir(parents=True, exist_ok=True)
    chief = distribute.is_chief(strategy)
    # Only the chief writes to run_dir; other workers write checkpoints/snapshots/logs to a temporary
    # sibling (CheckpointManager.save is still called on every worker: it is a collective under MWMS).
    out_dir = distribute.worker_dir(strategy, run_dir)
    if chief:
        io.write_text(run_dir / "config.toml", dump_toml(cfg))
    else:
        distribute.cleanup_worker_dir(strategy, run_dir)
        out_dir.mkdir(parents=True, exist_ok=True)

    previous_policy = keras.mixed_precision.global_policy()
    distribute.set_precision_policy(cfg.train.mixed_precision)  # before building: layers take the policy
    try:
        gan = _fit(cfg, run_dir, strategy, out_dir, has_checkpoint, verbose and chief, dataset, callbacks)
    finally:
        distribute.cleanup_worker_dir(strategy, run_dir)
        keras.mixed_precision.set_global_policy(previous_policy)
    return gan


def _fit(cfg, run_dir, strategy, out_dir, has_checkpoint, verbose, dataset, callbacks):
    from kgan.data import make_dataset

    chief = distribute.is_chief(strategy)
    with strategy.scope():
        gan = build_compiled(cfg)
    manager = tf.train.CheckpointManager(_checkpoint(gan), str(out_dir / "checkpoints"),
                                         max_to_keep=cfg.train.keep_checkpoints)
    logger = RunLogger(cfg, out_dir, manager, cfg.train.steps, verbose)
    if has_checkpoint:
        # Every worker restores the chief's latest checkpoint (run_dir must be shared, see docs/distributed.md).
        latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
        _checkpoint(gan).restore(latest).expect_partial()
        logger.resumed_from = latest
        logger.event(f"resumed from {latest}", step=current_step(gan))
        _truncate_history(logger.history_path, current_step(gan))

    if dataset is None:
        data_cfg = dataclasses.replace(cfg.data, batch_size=cfg.data.batch_size * cfg.train.n_critic)
        # Skip the batches already consumed so a resumed run sees the same data stream as an uninterrupted one.
        dataset = make_dataset(data_cfg, seed=cfg.seed, repeat=True).skip(int(gan.batches_seen.numpy()))
    started = time.time()
    if current_step(gan) < cfg.train.steps:
        # One fit() "epoch" per log window keeps Keras' metric means per window, not over the whole run.
        # Skipped (non-finite) and rewound (restored) steps do not advance the step counter, so the epoch
        # count is open-ended and `_StopAt` ends training at exactly `train.steps`.
        spe = cfg.train.steps_per_execution
        window = math.ceil(cfg.train.log_every / spe) * spe
        gan.fit(dataset, epochs=2**31 - 1, steps_per_epoch=window, verbose=0, shuffle=False,
                callbacks=[logger, _StopAt(cfg.train.steps), *callbacks])
    if logger.restores > cfg.train.max_restores:
        raise TrainingDivergedError(
            f"{run_dir}: training diverged (non-finite losses) again after {cfg.train.max_restores} restores "
            f"at step {current_step(gan)}; lower train.g_lr / train.d_lr (see logs/events.log)")
    if chief:
        io.write_json(run_dir / "run.json", {
            "model": cfg.model.name, "latent_dim": gan.latent_dim, "image_shape": list(gan.image_shape),
            "num_classes": gan.num_classes, "step": current_step(gan), "ema": gan.ema_generator is not None,
            "train_seconds_last_session": round(time.time() - started, 2)})
        _save_keras_model(gan, run_dir / "model.keras")
    return gan


class _StopAt(keras.callbacks.Callback):
    """Stop exactly at the target step even when the last window is partial."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps

    def on_train_batch_end(self, batch, logs=None):
        if current_step(self.model) >= self.steps:
            self.model.stop_training = True


def _truncate_history(path: Path, step: int) -> None:
    """Drop log rows written after the checkpoint we resumed from (they will be recomputed)."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= step]
    with io.atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(kept)


def _save_keras_model(gan, path: Path) -> None:
    with io.atomic_path(path) as tmp:
        gan.save(tmp)


class LuigiProgress(keras.callbacks.Callback):
    """Forwards training progress to a Luigi task's status message and progress bar (scheduler UI)."""

    def __init__(self, task, total_steps: int, every: int = 25):
        super().__init__()
        self.task, self.total_steps, self.every = task, total_steps, every
        self.last = 0

    def on_train_batch_end(self, batch, logs=None):
        step = current_step(self.model)
        if not (crossed_multiple(self.last, step, self.every) or step >= self.total_steps):
            return
        self.last = step
        terms = " ".join(f"{k}={float(v):.3f}" for k, v in (logs or {}).items() if k in ("d_loss", "g_loss"))
        self.task.set_progress_percentage(round(100 * step / self.total_steps, 1))
        self.task.set_status_message(f"step {step}/{self.total_steps} {terms}")
