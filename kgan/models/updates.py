"""The one guarded-update path every optimizer step of the engine goes through.

`guarded_update` = loss scaling (mixed float16), the gradient, a finiteness check of the loss and every
gradient, agreement of all replicas on that check, the conditional `apply_gradients`, and weight
clipping (WGAN). A step whose check fails changes no weight, on any replica.

Distribution details:
- `apply_gradients` calls `merge_call` under MirroredStrategy, which is not allowed inside a `tf.cond` in
  replica context ("merge_call called while defining a new graph"); `apply_if` follows Keras'
  `LossScaleOptimizer._tf_apply`: all-reduce the check (SUM of the failures), then run the `cond` in replica
  context when the strategy needs no merge_call, else in cross-replica context around
  `call_for_each_replica`.
- losses are averaged over the local batch and divided by the number of replicas, because `tf.distribute`
  sums gradients across replicas: the result is the mean over the global batch.
- a `LossScaleOptimizer` is always called when the loss is finite: it skips non-finite gradients itself and
  must see them to lower its scale.
"""

from __future__ import annotations

import os

import keras
import tensorflow as tf
from keras import ops

from kgan import distribute


def replica_id():
    ctx = tf.distribute.get_replica_context()
    return 0 if ctx is None else ctx.replica_id_in_sync_group


def num_replicas():
    return tf.distribute.get_strategy().num_replicas_in_sync


def loss_scaled(optimizer):
    """Under a float16 global policy, wrap an optimizer in a LossScaleOptimizer (Keras only does that for
    `self.optimizer`, and the engine has one optimizer per group)."""
    if (keras.mixed_precision.global_policy().compute_dtype == "float16"
            and not isinstance(optimizer, keras.optimizers.LossScaleOptimizer)):
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def plain(optimizer):
    """The optimizer under a LossScaleOptimizer: checkpoints stay interchangeable between precision policies."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def guarded_update(tape, loss, variables, optimizer, *, also_ok=True, clip_value: float = 0.0):
    """One optimizer step on `variables` from `loss` recorded by `tape`; skipped on every replica when the loss,
    a gradient or `also_ok` is not finite/true. Returns the replica-consistent success flag."""
    with tape:  # the (loss-scaled) loss must be on the tape, whether or not the caller is still recording
        scaled = loss / num_replicas()
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            scaled = optimizer.scale_loss(scaled)
    grads = tape.gradient(scaled, variables)
    ok = tf.logical_and(all_finite(loss, grads, optimizer), also_ok)
    ok = apply_if(ok, optimizer, grads, variables)
    if clip_value:
        for w in variables:
            w.assign(ops.clip(w, -clip_value, clip_value))
    return ok


def all_finite(loss, grads, optimizer=None):
    """The loss and every gradient are finite. A finite loss alone is not enough: a NaN input can vanish in the
    forward pass (fused MatMul+ReLU on CPU maps NaN to 0) yet still poison the weight gradients. With a
    LossScaleOptimizer only the loss is checked: overflowing (scaled) gradients are its job. One reduction per
    gradient and no elementwise pass: the loss plus every gradient's plain sum is finite iff all of them are (NaN
    propagates through a sum and an infinity stays infinite or meets its opposite and turns NaN; finite values
    overflow only past a total of 3e38)."""
    total = [tf.cast(loss, "float32")]
    for g in ([] if isinstance(optimizer, keras.optimizers.LossScaleOptimizer) else grads):
        if g is not None:
            values = g.values if isinstance(g, tf.IndexedSlices) else g
            total.append(tf.reduce_sum(tf.cast(values, "float32")))
    return tf.math.is_finite(tf.add_n(total))


def _apply(optimizer, grads, variables):
    # A variable outside this step's graph has no gradient (a growing network's blocks of other resolutions):
    # left out here, as Keras would, without its warning at every trace.
    optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
    return tf.no_op()


def apply_if(ok, optimizer, grads, variables):
    """Apply `grads` when `ok`, consistently on every replica; returns the replica-consistent `ok`."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        ok_all = replicas_agree(ok)
        _apply(optimizer, grads, variables)  # skips (and lowers the scale) on non-finite gradients
        return ok_all
    if not tf.distribute.has_strategy():
        tf.cond(ok, lambda: _apply(optimizer, grads, variables), tf.no_op)
        return ok
    ok = replicas_agree(ok)
    if tf.__internal__.distribute.strategy_supports_no_merge_call():
        tf.cond(ok, lambda: _apply(optimizer, grads, variables), tf.no_op)
        return ok

    def cross_replica(distribution, ok, grads):
        ok = distribution.experimental_local_results(ok)[0]  # the same on every replica (all-reduced)

        def apply_fn():
            distribution.extended.call_for_each_replica(lambda g: _apply(optimizer, g, variables), args=(grads,))
            return tf.no_op()

        tf.cond(ok, apply_fn, tf.no_op)

    tf.distribute.get_replica_context().merge_call(cross_replica, args=(ok, grads))
    return ok


def replicas_agree(ok):
    if not tf.distribute.has_strategy():
        return ok
    ctx = tf.distribute.get_replica_context()
    # ReduceOp has no MIN: sum the "not ok" flags instead (all agree iff no replica failed).
    failed = ctx.all_reduce(tf.distribute.ReduceOp.SUM, 1.0 - tf.cast(ok, "float32"))
    return tf.equal(failed, 0.0)


def sync_state(variables):
    """Average non-trainable state (batchnorm moving statistics) over the replicas after each step, so that every
    replica and worker holds the same weights. The batch statistics used in the step stay per replica (plain
    BatchNormalization); the moving mean then equals the global-batch one exactly, the moving variance
    approximately. A no-op without several replicas."""
    if not variables or num_replicas() == 1 or not tf.distribute.has_strategy():
        return
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return
    means = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, [tf.identity(v.value) for v in variables])
    for v, mean in zip(variables, means):
        v.assign(mean)


def sum_over_replicas(values):
    """`values` summed over every replica (as they are without several replicas): statistics that state shared by
    all replicas is updated from (ADA's p) must be the global ones, or the replicas' copies drift apart."""
    if num_replicas() == 1 or not tf.distribute.has_strategy() or tf.distribute.get_replica_context() is None:
        return values
    return tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, values)


def restore(variables, values):
    for v, value in zip(variables, values):
        v.assign(value)
    return tf.no_op()


def reshape_logs(logs):
    """Work around tensorflow/tensorflow#72388: under MultiWorkerMirroredStrategy Keras' `fit` reduces the step's
    results with `strategy.reduce("MEAN", v, axis=0)`, which fails on scalars ("Invalid reduction dimension 0 for
    input with 0 dimensions"). Shape [1] reduces to the scalar mean over all replicas.
    KGAN_MWMS_METRICS_WORKAROUND=0 disables it (the test proves the bug is still there without it)."""
    if os.environ.get("KGAN_MWMS_METRICS_WORKAROUND", "1") == "0" or not tf.distribute.has_strategy():
        return logs
    if not distribute.is_multi_worker(tf.distribute.get_strategy()):
        return logs
    return {name: ops.reshape(value, (1,)) for name, value in logs.items()}
