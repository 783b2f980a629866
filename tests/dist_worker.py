"""A worker process for tests/test_distribute.py (and bench/distributed_throughput.py).

    python tests/dist_worker.py SPEC_JSON OUT_NPZ

SPEC: {"cfg": {...experiment dict...}, "steps": N, "fixed_latent": bool, "strategy": "auto"|...,
       "local_compare": bool, "variants": [{...model overrides...}, ...]}. The strategy comes from the environment
(TF_CONFIG, KGAN_CPU_DEVICES) as in `kgan train`. Trains on a deterministic random dataset of global batches (the
same on every worker; Keras' fit shards it) and writes the weights, the latent noise each local replica drew and
the last logs. With `variants`, each variant's model is trained in turn in the same processes (one cluster start
for all) and its results are keyed "v{i}_..."."""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def main(spec_path, out_path):
    spec = json.loads(open(spec_path).read())
    from kgan.distribute import choose_strategy

    strategy = choose_strategy(spec.get("strategy", "auto"))  # first: MWMS must come before other TF ops
    import keras
    keras.config.disable_traceback_filtering()
    import numpy as np

    result = {}
    for i, variant in enumerate(spec.get("variants", [{}])):
        cfg = {**spec["cfg"], "model": {**spec["cfg"]["model"], **variant}}
        prefix = f"v{i}_" if "variants" in spec else ""
        result.update({prefix + k: v for k, v in train(spec, cfg, strategy).items()})
    np.savez(out_path, **result)


def train(spec, cfg_dict, strategy) -> dict:
    """One model's results (weights, replicas' latent noise, last logs) after spec["steps"] steps."""
    import keras
    import numpy as np
    import tensorflow as tf

    import kgan.config
    import kgan.models
    from kgan.distribute import task_id

    cfg = kgan.config.from_dict(cfg_dict)
    batch, steps, res = cfg.data.batch_size * cfg.train.n_critic, spec["steps"], cfg.data.resolution
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (batch * steps, res, res, cfg.data.channels)).astype("float32")
    y = np.zeros(batch * steps, "int32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch, drop_remainder=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = ds.with_options(options)

    def build():
        keras.utils.set_random_seed(cfg.seed)
        gan = kgan.models.build_gan(cfg)
        gan.compile(*kgan.models.build_optimizers(cfg))
        if spec.get("fixed_latent"):
            gan.fixed_latent = np.random.default_rng(2).standard_normal((batch, cfg.model.latent_dim)).astype("float32")
        return gan

    result = {}
    if spec.get("local_compare"):  # the same step(s) under the default strategy, in this process
        gan = build()
        gan.fit(ds, epochs=1, verbose=0, shuffle=False)
        for i, w in enumerate(gan.generator.get_weights() + gan.discriminator.get_weights()):
            result[f"default_w{i}"] = w
    with strategy.scope():
        gan = build()
    if spec.get("warmup"):  # trace and warm up outside the timed part (benchmark)
        gan.fit(ds.repeat(), epochs=1, verbose=0, shuffle=False, steps_per_epoch=spec["warmup"])
    t0 = time.time()
    history = gan.fit(ds.repeat() if spec.get("repeat") else ds, epochs=1, verbose=0, shuffle=False,
                      steps_per_epoch=steps)
    result["seconds"] = np.float64(time.time() - t0)
    for i, w in enumerate(gan.generator.get_weights() + gan.discriminator.get_weights()):
        result[f"w{i}"] = w
    # The latent noise each replica draws in one step (distinct replicas must draw distinct z).
    zs = strategy.run(tf.function(lambda: gan.sample_latent(4)))
    result["z"] = np.stack([np.asarray(z) for z in strategy.experimental_local_results(zs)])
    result["replicas"] = np.int64(strategy.num_replicas_in_sync)
    result["task"] = np.int64(task_id(strategy)[1])
    for k, v in history.history.items():
        result[f"log_{k}"] = np.asarray(v[-1], "float64")
    return result


if __name__ == "__main__":
    main(*sys.argv[1:3])
