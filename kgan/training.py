"""Training runs: `fit()` wiring around the engine.

A run directory holds everything needed to resume, sample, export and render (layout in
DESIGN.md). Checkpoints carry both networks, the EMA generator, both optimizers (their
`iterations` is the step counter) and the seed generator state, so a resumed run continues the
same random stream. Killing a run loses at most the steps since the last checkpoint.
"""

from __future__ import annotations

import csv
import math
import shutil
import sys
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from kgan import checkpoints, cpu, distribute, events, io, overfitting, phases, runs, triptych
from kgan.collapse import CollapseDetector
from kgan.config import ExperimentConfig, dump_toml, load_config
from kgan.distribute import choose_strategy
from kgan.errors import CheckpointError, ConfigError, TrainingDivergedError
from kgan.imageio import tile, to_uint8
from kgan.models import build_gan, surface, updates
from kgan.models.registry import learning_rates, optimizers_for
from kgan.progress import training_line
from kgan.runs import read_run_info  # noqa: F401 - re-exported: tasks and tests read run.json through here
from kgan.stages import ResolutionStages

FIXED_SAMPLES = 64


def _checkpoint(gan) -> tf.train.Checkpoint:
    """Every network (and EMA shadow) through the model, one optimizer per group, the seed-generator state.
    A LossScaleOptimizer (mixed_float16) is checkpointed as its inner optimizer, so that checkpoints stay
    interchangeable between precision policies (the loss scale re-calibrates in a few steps)."""
    optimizers = {f"optimizer_{g}": updates.plain(o) for g, o in gan.group_optimizers.items()}
    return tf.train.Checkpoint(gan=gan, seed_state=gan.seed_generator.state, **optimizers)


def current_step(gan) -> int:
    return int(gan.steps_done.numpy())


def crossed_multiple(last: int, step: int, every: int) -> bool:
    """Whether a multiple of `every` lies in (last, step]: with steps_per_execution > 1 (or after a restore)
    callbacks see the step jump, so "step % every == 0" would miss points."""
    return step > 0 and step // every > last // every


def build_compiled(cfg: ExperimentConfig):
    gan = build_gan(cfg)
    gan.compile(optimizers=optimizers_for(cfg, gan), jit_compile=cfg.train.jit_compile,
                steps_per_execution=cfg.train.steps_per_execution)
    for phase in phases.plan(cfg):  # refuse unknown term or group names before any step runs
        gan.set_phase(phase.terms)
        phase.learning_rates(learning_rates(cfg, gan.GROUPS))
    gan.set_phase(None)
    return gan


def check_features(cfg: ExperimentConfig, gan) -> None:
    """Refuse, before any step, a model whose data features the data section does not provide."""
    from kgan.data.features import available_features

    available = available_features(cfg.data)
    missing = [f for f in gan.required_features() if f not in available]
    if missing:
        raise ConfigError(f"data: model {cfg.model.name!r} needs the data features {list(gan.required_features())}; "
                          f"data.source {cfg.data.source!r} with data.transform {cfg.data.transform!r} provides "
                          f"{list(available)} (missing {missing}; see data.transform, or a paired:DIR_A,DIR_B source)")


def grow_to(gan, phase: phases.Phase) -> None:
    """A phase with a resolution sets the model to it (a growing model; a fade phase fades the newest block in over
    its steps). Training calls it at every phase; restoring a run, for the phase of its step."""
    if phase.resolution is not None:
        gan.set_resolution(phase.resolution, fade=(phase.start, phase.end) if phase.fade else None)


def phase_batches(cfg: ExperimentConfig, phase: phases.Phase, report=None) -> tf.data.Dataset:
    """The endless training batches of `phase`: each step takes `n_critic` batches (one per critic update), at the
    phase's resolution (a growing model) or the data's."""
    from kgan.data.features import feature_dataset

    return feature_dataset(cfg.data, seed=cfg.seed, repeat=True, batch_size=cfg.data.batch_size * cfg.train.n_critic,
                           resolution=phase.resolution, report=report)


def learning_rate(optimizer) -> float:
    """The current rate as a float (a MirroredVariable under a strategy has no __float__)."""
    return float(tf.convert_to_tensor(optimizer.learning_rate).numpy())


def enter_phase(gan, cfg: ExperimentConfig, phase: phases.Phase) -> None:
    """Term weights and learning rates of `phase` (rates scaled by the divergence backoff `lr_factor`)."""
    gan.set_phase(phase.terms)
    set_learning_rates(gan, cfg, phase)


def set_learning_rates(gan, cfg: ExperimentConfig, phase: phases.Phase) -> None:
    """The phase's rates at the current step (a decaying phase changes them every step), times `lr_factor`."""
    factor = float(gan.lr_factor.numpy())
    for group, rate in phase.learning_rates(learning_rates(cfg, gan.GROUPS), current_step(gan)).items():
        gan.group_optimizers[group].learning_rate.assign(rate * factor)


def load_run(run_dir: str | Path, checkpoint: str | None = None):
    """(cfg, gan, step) restored from a run directory's latest checkpoint (or the given one)."""
    run_dir = Path(run_dir)
    config_path = run_dir / "config.toml"
    if not config_path.is_file():
        raise CheckpointError(f"{run_dir}: not a kgan run directory (no config.toml)")
    cfg = load_config(config_path)
    gan = build_compiled(cfg)
    path = checkpoint or checkpoints.latest_valid(run_dir / "checkpoints")
    if not path:
        raise CheckpointError(f"{run_dir / 'checkpoints'}: no checkpoint to restore")
    try:
        _checkpoint(gan).restore(path).expect_partial()
    except (tf.errors.OpError, ValueError, AssertionError, IndexError) as e:  # IndexError: truncated file
        raise CheckpointError(f"{path}: checkpoint is unreadable or does not match the config ({e})") from None
    grow_to(gan, phases.phase_at(phases.plan(cfg), current_step(gan)))
    return cfg, gan, current_step(gan)


def fixed_examples(cfg: ExperimentConfig, run_dir: Path, gan) -> tuple[dict, dict]:
    """(inputs, targets) every snapshot renders: seeded draws with categorical inputs cycling or, for a model
    fed from data, the first examples of the evaluation split (held out when `data.holdout` > 0) and its
    target feature's rows ({} when it has none). Created once per run and read back on resume, so progress
    is comparable; the targets are written first, since the inputs file marks the fixed examples complete."""
    layout, target = runs.RunLayout(run_dir), gan.target_feature
    specs = surface.direction_inputs(surface.directions(gan))  # a model served both ways: both directions' inputs
    fed = bool(surface.data_features(specs))
    n, data = FIXED_SAMPLES, None
    if fed and not (layout.fixed_inputs.is_file() and (not target or layout.fixed_targets.is_file())):
        from kgan.data.features import feature_arrays

        data = feature_arrays(cfg.data, FIXED_SAMPLES, seed=cfg.seed, split="evaluation")
        n = len(data["image"])
    targets = runs.load_or_create_fixed_targets(layout, target, data) if fed and target else {}
    inputs = runs.load_or_create_fixed_inputs(layout, specs, n, cfg.seed, data=data)
    rows = len(next(iter(inputs.values())))
    if targets and len(targets[target]) != rows:
        raise CheckpointError(f"{layout.fixed_targets}: {len(targets[target])} rows for {rows} fixed inputs; "
                              "delete both files to take new fixed examples")
    return inputs, targets


def _hparams(cfg: ExperimentConfig) -> dict:
    """The config's scalar keys (dotted) for TensorBoard's hparams dashboard."""
    flat = {}
    for section, values in cfg.to_dict().items():
        for key, value in (values.items() if isinstance(values, dict) else [(None, values)]):
            name = f"{section}.{key}" if key else section
            if isinstance(value, (bool, int, float, str)):
                flat[name] = value
    return flat


class RunLogger(keras.callbacks.Callback):
    """Checkpoints, fixed-z snapshots, CSV history, progress line and the divergence guard."""

    def __init__(self, cfg: ExperimentConfig, run_dir: Path, manager: tf.train.CheckpointManager,
                 total_steps: int, fixed: tuple[dict, dict], verbose: bool = True):
        super().__init__()
        self.cfg, self.run_dir, self.manager = cfg, run_dir, manager
        self.total_steps, self.verbose = total_steps, verbose
        self.fixed, self.fixed_targets = fixed
        self.phase = phases.plan(cfg)[0]
        self.history_path = run_dir / "logs" / "history.csv"
        self.events_path = run_dir / "logs" / "events.log"
        self.t0 = time.time()
        self.last_checkpoint_step = self.last_snapshot_step = self.last_log_step = 0
        self._window_start = (time.time(), 0)
        self.restores = 0
        self.collapse = CollapseDetector()
        self.overfitting = overfitting.Probe(cfg.data, cfg.seed)
        self.tensorboard = tf.summary.create_file_writer(str(run_dir / "logs" / "tensorboard"))

    @property
    def step(self) -> int:
        return current_step(self.model)

    def event(self, message: str, step: int | None = None) -> None:
        step = self.step if step is None else step
        self.events_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.events_path, "a") as f:
            f.write(events.format_line(step, message))
        print(f"[kgan] {message}", file=sys.stderr, flush=True)

    def on_train_begin(self, logs=None):
        step = self.step
        if step == 0:
            with self.tensorboard.as_default():
                hp.hparams(_hparams(self.cfg))
        self._window_start = (time.time(), step)
        self.last_log_step = self.last_checkpoint_step = step
        if step == 0:
            self.snapshot()
        self.last_snapshot_step = step

    def on_train_batch_end(self, batch, logs=None):
        step, t = self.step, self.cfg.train
        if self.guard_divergence():
            return
        if self.phase.decay:  # with steps_per_execution > 1, the rate changes once per execution
            set_learning_rates(self.model, self.cfg, self.phase)
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
        """The fixed inputs' images; for a model fed from data also its input | output | target triptychs (input |
        translated | translated back for a model served both ways)."""
        specs = self.model.inference_inputs()
        images = to_uint8(self.model.infer({s.name: self.fixed[s.name] for s in specs}))
        shown, cols, extra = images, None, {}
        directions = surface.directions(self.model)
        if surface.data_features(specs) or triptych.has_cycles(directions):  # an autoencoder: input | reconstructed
            grid, titles = (triptych.cycles(directions, self.fixed) if triptych.has_cycles(directions)
                            else triptych.compose(specs, self.fixed, images, self.fixed_targets))
            extra = {"triptych": grid, "columns": np.array(titles)}
            shown, cols = triptych.flat(grid), triptych.PER_ROW * grid.shape[1]
        with io.atomic_path(self.run_dir / "snapshots" / f"step_{self.step:07d}.npz") as tmp:
            np.savez_compressed(tmp, images=images, step=self.step, **extra)
        with self.tensorboard.as_default(step=self.step):
            tf.summary.image("snapshot", tile(shown, cols)[None], max_outputs=1)
        self.last_snapshot_step = self.step

    def log(self, logs: dict):
        step = self.step
        now = time.time()
        t_start, s_start = self._window_start
        rate = (step - s_start) * self.cfg.data.batch_size / max(now - t_start, 1e-9)
        self._window_start = (now, step)
        row = {"step": step, "wall_time": round(now - self.t0, 3), "images_per_sec": round(rate, 1),
               **{k: float(v) for k, v in logs.items()}, **self.overfitting.measure(self.model)}
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
        *critics, main = [self.model.loss_log(g) for g in self.model.GROUPS]
        if critics and critics[0] in logs and main in logs:
            warning = self.collapse.update(float(logs[critics[0]]), float(logs[main]))
            if warning:
                self.event(warning, step)
        if self.verbose:
            shown = [*critics, main, "d_real", "d_fake", "w_distance"]
            values = {k: float(logs[k]) for k in shown if k in logs}
            print(training_line(step, self.total_steps, now - self.t0, rate, self.cfg.data.batch_size, values),
                  file=sys.stderr, flush=True)

    def guard_divergence(self) -> bool:
        """After `nan_patience` consecutive non-finite steps: restore the last checkpoint and scale the learning
        rates by `divergence_lr_factor`, compounding over restores (the factor lives in the checkpoint)."""
        bad = int(self.model.nonfinite_steps.numpy())
        if bad < self.cfg.train.nan_patience:
            return False
        self.restores += 1
        if self.restores > self.cfg.train.max_restores:
            self.model.stop_training = True
            self.event(f"{events.DIVERGENCE}: {bad} non-finite steps after {self.cfg.train.max_restores} restores; stopping")
            return True
        factor = float(self.model.lr_factor.numpy()) * self.cfg.train.divergence_lr_factor
        # (a non-chief worker's own manager is empty until its first save: fall back to what the run resumed from)
        latest = self.manager.latest_checkpoint or getattr(self, "resumed_from", None)
        if latest:
            _checkpoint(self.model).restore(latest).expect_partial()
        self.model.lr_factor.assign(factor)
        self.model.nonfinite_steps.assign(0)
        enter_phase(self.model, self.cfg, self.phase)
        rates = ", ".join(f"{g} {learning_rate(o):.3g}" for g, o in self.model.group_optimizers.items())
        self.event(f"{events.DIVERGENCE}: {bad} non-finite steps; restored {latest or 'nothing (no checkpoint yet)'}, "
                   f"learning rates x{factor:.3g} of the phase's -> {rates}")
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
    chief = distribute.is_chief(strategy)
    cpu.check_precision(cfg.train.mixed_precision, cfg.train.allow_emulated_bfloat16,
                        gpu_visible=bool(tf.config.list_physical_devices("GPU")))  # before anything is written
    notes = []  # what was repaired on the way in, for logs/events.log
    if chief and run_dir.is_dir():
        stale = io.clean_stale_temporaries(run_dir)
        if stale:
            notes.append(f"removed {len(stale)} temporaries left by interrupted writes: "
                         + ", ".join(p.relative_to(run_dir).as_posix() for p in stale))
    latest = checkpoints.latest_valid(run_dir / "checkpoints", repair=chief, report=notes.append)
    if latest and not resume:
        raise CheckpointError(f"{run_dir}: already holds checkpoints; resume it or choose another --out")
    if latest:
        _check_resumable(cfg, run_dir)
    elif chief:
        notes += _discard_unfinished_attempt(run_dir)
    keras.utils.set_random_seed(cfg.seed)
    tf.config.experimental.enable_op_determinism()
    run_dir.mkdir(parents=True, exist_ok=True)
    if chief:  # fail now, not at the first checkpoint or snapshot after minutes of training
        for sub in ("checkpoints", "snapshots", "logs"):
            io.check_writable_dir(run_dir / sub, f"{run_dir / sub}")
    # Only the chief writes to run_dir; other workers write checkpoints/snapshots/logs to a temporary
    # sibling (CheckpointManager.save is still called on every worker: it is a collective under MWMS).
    out_dir = distribute.worker_dir(strategy, run_dir)
    if chief:
        io.write_text(run_dir / "config.toml", dump_toml(cfg))
    else:
        distribute.cleanup_worker_dir(strategy, run_dir)
        out_dir.mkdir(parents=True, exist_ok=True)

    say = _say if verbose and chief else (lambda message: None)
    say(f"strategy: {strategy_info(strategy)['description']}")
    previous_policy = keras.mixed_precision.global_policy()
    distribute.set_precision_policy(cfg.train.mixed_precision)  # before building: layers take the policy
    try:
        gan = _fit(cfg, run_dir, strategy, out_dir, latest, notes, verbose and chief, dataset, callbacks, say)
    finally:
        distribute.cleanup_worker_dir(strategy, run_dir)
        keras.mixed_precision.set_global_policy(previous_policy)
    return gan


def _discard_unfinished_attempt(run_dir: Path) -> list[str]:
    """A run directory without a readable checkpoint starts from step 0: what an earlier attempt left (history
    rows, fixed inputs and snapshots made for a possibly different config) is removed, and said so."""
    layout = [run_dir / "logs" / "history.csv", run_dir / "snapshots", run_dir / "reports"]
    present = [p for p in layout if p.exists()]
    for p in present:
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    if not present:
        return []
    return [f"no readable checkpoint: starting from step 0 and removing the earlier attempt's "
            f"{', '.join(p.relative_to(run_dir).as_posix() for p in present)}"]


def _say(message: str) -> None:
    print(f"[kgan] {message}", file=sys.stderr, flush=True)


def strategy_info(strategy) -> dict:
    """What run.json and the console say about distribution: strategy, workers, replicas."""
    resolver = getattr(strategy, "cluster_resolver", None)
    spec = resolver.cluster_spec().as_dict() if resolver is not None else {}
    workers = max(1, sum(len(v) for k, v in spec.items() if k in ("chief", "worker")))
    replicas = int(strategy.num_replicas_in_sync)
    name = type(strategy).__name__.replace("_DefaultDistributionStrategy", "default (one device)")
    return {"name": name, "workers": workers, "replicas": replicas,
            "description": f"{name}, {workers} worker{'s' * (workers > 1)}, {replicas} replica{'s' * (replicas > 1)}"}


def _fit(cfg, run_dir, strategy, out_dir, latest, notes, verbose, dataset, callbacks, say):
    chief = distribute.is_chief(strategy)
    say(f"building {cfg.model.name} for {cfg.data.resolution}x{cfg.data.resolution}x{cfg.data.channels} images")
    with strategy.scope():
        gan = build_compiled(cfg)
    say("networks: " + ", ".join(f"{n} {net.count_params():,} params" for n, net in gan.networks().items()))
    if dataset is None:
        check_features(cfg, gan)
    manager = tf.train.CheckpointManager(_checkpoint(gan), str(out_dir / "checkpoints"),
                                         max_to_keep=cfg.train.keep_checkpoints)
    logger = RunLogger(cfg, out_dir, manager, cfg.train.steps, fixed_examples(cfg, out_dir, gan), verbose)
    stages = ResolutionStages(cfg, out_dir, logger.fixed)  # a growing run's per-resolution snapshots and metrics
    if latest:
        # Every worker restores the chief's latest checkpoint (run_dir must be shared, see docs/distributed.md).
        _checkpoint(gan).restore(latest).expect_partial()
    for note in notes:
        logger.event(note, step=current_step(gan))
    if latest:
        logger.resumed_from = latest
        logger.event(f"resumed from {latest}", step=current_step(gan))
        _truncate_history(logger.history_path, current_step(gan))

    started = time.time()
    logged = []

    def log_cache(line: str) -> None:
        """The data's in-memory cache decision (cached or streamed), once: every phase reads the same split."""
        if not logged:
            logged.append(line)
            logger.event(f"data: {line}", step=current_step(gan))

    spe = cfg.train.steps_per_execution
    window = math.ceil(cfg.train.log_every / spe) * spe
    for phase in phases.plan(cfg):
        if current_step(gan) >= phase.end:
            continue
        logger.phase = phase
        enter_phase(gan, cfg, phase)
        if cfg.train.phases:
            logger.event(f"phase {phase.index + 1}/{len(cfg.train.phases)} {phase.name!r}: steps "
                         f"{phase.start}-{phase.end}", step=current_step(gan))
        grow_to(gan, phase)
        say(f"data: {cfg.data.source}, batch {cfg.data.batch_size}; compiling the training step "
            f"(first log line after {cfg.train.log_every} steps)")
        data = dataset
        if data is None:
            # Skip the batches already consumed so a resumed run sees the same data stream as an uninterrupted one.
            data = phase_batches(cfg, phase, report=log_cache).skip(int(gan.batches_seen.numpy()))
        # One fit() "epoch" per log window keeps Keras' metric means per window, not over the whole run.
        # Skipped (non-finite) and rewound (restored) steps do not advance the step counter, so the epoch
        # count is open-ended and `_StopAt` ends the phase at exactly its last step.
        gan.fit(data, epochs=2**31 - 1, steps_per_epoch=window, verbose=0, shuffle=False,
                callbacks=[logger, _StopAt(phase.end), *([stages] if stages.ends else []), *callbacks])
        if logger.restores > cfg.train.max_restores:
            break
    if logger.restores > cfg.train.max_restores:
        raise TrainingDivergedError(
            f"{run_dir}: training diverged (non-finite losses) again after {cfg.train.max_restores} restores "
            f"at step {current_step(gan)}; lower train.g_lr / train.d_lr (see logs/events.log)")
    if chief:
        io.write_json(run_dir / "run.json", {**run_info(cfg, gan, time.time() - started),
                                             "strategy": strategy_info(strategy)})
        _save_keras_model(gan, run_dir / "model.keras")
    return gan


def run_info(cfg: ExperimentConfig, gan, seconds: float) -> dict:
    """What `run.json` records: the model's networks, optimizer groups and surface (its named directions), its loss
    terms' weights and constructor hyperparameters, the step and phase (with its resolution and fade-in alpha when it
    names a resolution)."""
    step = current_step(gan)
    phase = phases.phase_at(phases.plan(cfg), step)
    return {
        "model": cfg.model.name, "step": step, "phase": {"index": phase.index, "name": phase.name, **(
            {"resolution": phase.resolution, "alpha": phase.alpha(step)} if phase.resolution is not None else {})},
        "image_shape": [int(d) for d in gan.inference_network().output.shape[1:]],
        "latent_dim": surface.latent_dim(gan.inference_inputs()),
        "num_classes": surface.num_classes(gan.inference_inputs()),
        "networks": {name: int(net.count_params()) for name, net in gan.networks().items()},
        "ema": list(gan.ema_names),
        "optimizers": {g: {"class": type(updates.plain(o)).__name__, "learning_rate": learning_rate(o)}
                       for g, o in gan.group_optimizers.items()},
        "features": list(gan.required_features()),
        "inputs": surface.specs_to_json(gan.inference_inputs()),
        "target_feature": gan.target_feature,
        "inference_noise": surface.inference_noise(gan),
        "directions": [d.to_json() for d in surface.directions(gan) if d.name],
        "loss_weights": {t.name: t.weight for t in (gan.terms or gan.loss_terms())},
        "hparams": {k: v for k in gan.HPARAMS if isinstance(v := getattr(gan, k), (bool, int, float, str))},
        "train_seconds_last_session": round(seconds, 2), "cpu": cpu.describe()}


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
