"""Pick the `tf.distribute` strategy from the environment (or the config) and say which one.

TF_CONFIG with a cluster -> MultiWorkerMirroredStrategy; more than one visible GPU ->
MirroredStrategy; otherwise the default strategy. `train.strategy` in the config forces one.
"""

from __future__ import annotations

import json
import os

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


def choose_strategy(name: str = "auto") -> tf.distribute.Strategy:
    if name == "auto":
        if _tf_config_cluster():
            name = "multi_worker"
        elif len(tf.config.list_logical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "default"
    if name == "multi_worker":
        if not _tf_config_cluster():
            raise ConfigError("train.strategy: 'multi_worker' needs TF_CONFIG with a cluster in the environment")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Only the chief writes to the real output paths (the multi-worker guide's convention)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                              and "chief" not in resolver.cluster_spec().as_dict())
