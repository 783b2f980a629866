"""Pick the `tf.distribute` strategy from the environment (or the config) and say which one.

TF_CONFIG with a cluster -> MultiWorkerMirroredStrategy; more than one visible GPU (or more than
one logical CPU device, see `configure_cpu_devices`) -> MirroredStrategy; otherwise the default
strategy. `train.strategy` in the config forces one. See docs/distributed.md.

Contracts the engine and `kgan.training` rely on:
- the strategy is created before anything else touches TensorFlow's runtime (MWMS needs it);
- models, optimizers and metrics are created under `strategy.scope()`;
- `data.batch_size` is the GLOBAL batch: Keras' `fit` distributes the `tf.data` dataset itself
  (`experimental_distribute_dataset`), splitting each global batch into per-replica batches, and
  under MWMS shards it across workers: by file on prepared shards (`AutoShardPolicy.FILE`, set in
  `make_dataset` when there are enough files: each worker reads its own), else by element (`DATA`: every
  worker builds the same shuffled stream from the same seed);
- per-replica losses are local means divided by `num_replicas_in_sync` (the gradients are summed);
- only the chief writes to the real output paths (`is_chief`, `worker_dir`).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import tensorflow as tf

from kgan.errors import ConfigError


def _tf_config_cluster() -> dict:
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return {}
    try:
        return json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as e:
        raise ConfigError(f"TF_CONFIG: not valid JSON ({e})") from None


def cluster_size() -> int:
    """Workers (chief included) of the TF_CONFIG cluster; 1 without one."""
    cluster = _tf_config_cluster()
    return max(1, sum(len(cluster.get(kind, [])) for kind in ("chief", "worker")))


CPU_DEVICES_ENV = "KGAN_CPU_DEVICES"


def configure_cpu_devices(n: int | None = None) -> int:
    """Split the CPU into `n` logical devices (default: env KGAN_CPU_DEVICES) so that MirroredStrategy
    can run several replicas on one machine without GPUs. Must run before TensorFlow initializes its
    runtime; returns the number of logical CPU devices in effect."""
    if n is None:
        raw = os.environ.get(CPU_DEVICES_ENV, "")
        if not raw:
            return len(tf.config.list_logical_devices("CPU"))
        try:
            n = int(raw)
        except ValueError:
            raise ConfigError(f"{CPU_DEVICES_ENV}={raw!r}: expected a number of logical CPU devices") from None
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if n > 1 and not (current and len(current) == n):
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
        except RuntimeError:
            raise ConfigError(f"{CPU_DEVICES_ENV}={n}: TensorFlow was already initialized; set it before "
                              f"the first TensorFlow op (in the environment of the process)") from None
    return len(tf.config.list_logical_devices("CPU"))


def choose_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """Call it first, before other TensorFlow work: MultiWorkerMirroredStrategy must configure the
    collective ops at program startup, and logical CPU devices can only be set before initialization."""
    if name == "multi_worker" or (name == "auto" and _tf_config_cluster()):
        if not _tf_config_cluster():
            raise ConfigError("train.strategy: 'multi_worker' needs TF_CONFIG with a cluster in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    cpus = configure_cpu_devices()
    if name == "auto":
        if len(tf.config.list_logical_devices("GPU")) > 1 or cpus > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1 or cpus <= 1:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    return tf.distribute.get_strategy()


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())


def task_id(strategy: tf.distribute.Strategy) -> tuple[str, int]:
    """(task_type, task_id) of this process; ("chief", 0) outside a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return "chief", 0
    return resolver.task_type, int(resolver.task_id or 0)


def worker_dir(strategy: tf.distribute.Strategy, real_dir: str | Path) -> Path:
    """Where this process writes: the real directory on the chief, a per-worker temporary sibling on
    the other workers (removed by `cleanup_worker_dir` at the end), as the multi-worker guide prescribes."""
    real_dir = Path(real_dir)
    if is_chief(strategy):
        return real_dir
    kind, index = task_id(strategy)
    return real_dir / f".{kind}-{index}-tmp"


def cleanup_worker_dir(strategy: tf.distribute.Strategy, real_dir: str | Path) -> None:
    if not is_chief(strategy):
        shutil.rmtree(worker_dir(strategy, real_dir), ignore_errors=True)


def set_precision_policy(policy: str) -> str:
    """`train.mixed_precision` -> the Keras global dtype policy ("" = float32); returns the policy name.
    Call it before building the models. mixed_float16 needs a GPU to be fast (it runs, slowly, on CPU);
    mixed_bfloat16 runs on CPUs with bfloat16 kernels and on recent GPUs/TPUs."""
    import keras

    keras.mixed_precision.set_global_policy(policy or "float32")
    return keras.mixed_precision.global_policy().name


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Only the chief writes to the real output paths (the multi-worker guide's convention)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())
