"""Distributed training for real: worker processes on localhost (MultiWorkerMirroredStrategy with a loopback
TF_CONFIG), MirroredStrategy on 2 logical CPU devices, kill/restart recovery and mixed precision.

Worker processes run tests/dist_worker.py (tiny nets: width 8, latent 8, 8x8 images, global batch 16).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kgan.workers import tf_configs

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "dist_worker.py"
TIMEOUT = 150


def experiment(name="dcgan", **train):
    train.setdefault("ema", 0.0)
    return {"seed": 0, "model": {"name": name, "width": 8, "latent_dim": 8},
            "data": {"resolution": 8, "channels": 1, "batch_size": 16}, "train": train}


def start_workers(tmp_path, spec, n=2, env=None, tag="w"):
    """Start n dist_worker processes with a loopback cluster; returns [(Popen, out_npz, log_path)]."""
    spec_path = tmp_path / f"{tag}_spec.json"
    spec_path.write_text(json.dumps(spec))
    procs = []
    for i, tf_config in enumerate(tf_configs(n)):
        out, log = tmp_path / f"{tag}{i}.npz", tmp_path / f"{tag}{i}.log"
        full_env = {**os.environ, "TF_CONFIG": tf_config, **(env or {})}
        p = subprocess.Popen([sys.executable, str(WORKER), str(spec_path), str(out)], env=full_env, cwd=REPO,
                             stdout=open(log, "w"), stderr=subprocess.STDOUT)
        procs.append((p, out, log))
    return procs


def start_local(tmp_path, spec, env=None, tag="local"):
    spec_path = tmp_path / f"{tag}_spec.json"
    spec_path.write_text(json.dumps(spec))
    out, log = tmp_path / f"{tag}.npz", tmp_path / f"{tag}.log"
    full_env = {k: v for k, v in {**os.environ, **(env or {})}.items() if k != "TF_CONFIG"}
    p = subprocess.Popen([sys.executable, str(WORKER), str(spec_path), str(out)], env=full_env, cwd=REPO,
                         stdout=open(log, "w"), stderr=subprocess.STDOUT)
    return p, out, log


def finish(procs, expect_ok=True):
    results = []
    for p, out, log in procs:
        try:
            p.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        text = Path(log).read_text()
        if expect_ok:
            assert p.returncode == 0, text[-3000:]
            results.append(dict(np.load(out)))
        else:
            results.append((p.returncode, text))
    return results


def weights(result, prefix="w"):
    keys = sorted((k for k in result if k.startswith(prefix) and k[len(prefix):].isdigit()),
                  key=lambda k: int(k[len(prefix):]))
    return [result[k] for k in keys]


# ----- MultiWorkerMirroredStrategy: 2 worker processes -------------------------------------------------------

def test_two_workers_train_to_identical_weights_with_distinct_noise(tmp_path):
    """A 3-step DCGAN (batchnorm included) on 2 workers: both finish with the same G and D weights; logs
    are finite scalars (the MWMS metrics workaround), and the two replicas draw different z."""
    w0, w1 = finish(start_workers(tmp_path, {"cfg": experiment("dcgan"), "steps": 3}))
    assert int(w0["replicas"]) == 2 and {int(w0["task"]), int(w1["task"])} == {0, 1}
    for a, b in zip(weights(w0), weights(w1), strict=True):
        np.testing.assert_array_equal(a, b)
    assert np.isfinite(w0["log_d_loss"]) and np.isfinite(w0["log_g_loss"]) and w0["log_d_loss"].shape == ()
    assert float(w0["log_d_loss"]) == float(w1["log_d_loss"])  # the mean over both workers
    z0, z1 = w0["z"][0], w1["z"][0]  # each worker has one replica
    assert not np.allclose(z0, z1), "replicas on different workers drew the same latent noise"


def test_scalar_metrics_bug_needs_the_workaround(tmp_path):
    """tensorflow/tensorflow#72388 is real in this Keras/TF: without the engine's workaround, fit() under MWMS
    fails on the step's scalar metric results (the workaround is on in every other test)."""
    results = finish(start_workers(tmp_path, {"cfg": experiment("gan"), "steps": 1},
                                   env={"KGAN_MWMS_METRICS_WORKAROUND": "0"}), expect_ok=False)
    for code, text in results:
        assert code != 0
        assert "Invalid reduction dimension 0 for input with 0 dimensions" in text, text[-2000:]


def test_gradient_aggregation_matches_one_process_on_the_global_batch(tmp_path):
    """With the latent noise fixed (GAN.fixed_latent) and the same data, one step on 2 workers (8 examples each)
    = one step on 2 logical-CPU replicas (MirroredStrategy) = one single-process step on the 16-example global
    batch. MLP nets (no batchnorm); both losses (the Wasserstein and the non-saturating one, trained in turn in the
    same processes) are means of per-example terms, so they decompose exactly."""
    losses = ["wasserstein", "non_saturating"]
    spec = {"cfg": experiment("gan", n_critic=1), "steps": 1, "fixed_latent": True,
            "variants": [{"loss": loss} for loss in losses]}
    local = start_local(tmp_path, {**spec, "strategy": "mirrored", "local_compare": True},
                        env={"KGAN_CPU_DEVICES": "2"})
    multi = start_workers(tmp_path, spec)
    w0, w1 = finish(multi)
    (ref,) = finish([local])
    firsts = []
    for v in (f"v{i}_" for i in range(len(losses))):
        assert int(ref[v + "replicas"]) == 2
        single, mirrored = weights(ref, v + "default_w"), weights(ref, v + "w")
        assert single and len(single) == len(mirrored) == len(weights(w0, v + "w"))
        for s, m, a, b in zip(single, mirrored, weights(w0, v + "w"), weights(w1, v + "w"), strict=True):
            np.testing.assert_array_equal(a, b)
            np.testing.assert_allclose(m, s, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(a, s, rtol=1e-5, atol=1e-6)
        # Mirrored replicas (in one process) draw distinct z too.
        assert not np.allclose(ref[v + "z"][0], ref[v + "z"][1])
        firsts.append(single[0])
    assert not np.allclose(*firsts), "both losses gave the same step: the variants did not change the loss"


# ----- fault tolerance: kill a worker, restart the job ---------------------------------------------------------

def _train_config(tmp_path, npz, steps):
    cfg = tmp_path / "job.toml"
    cfg.write_text(f"""
name = "job"
seed = 0
[data]
source = "npz:{npz}"
resolution = 8
batch_size = 16
shuffle_buffer = 64
[model]
name = "dcgan"
width = 8
latent_dim = 8
[train]
steps = {steps}
ema = 0.0
checkpoint_every = 10
snapshot_every = 100
log_every = 10
strategy = "multi_worker"
""")
    return cfg


def test_killed_worker_job_restarts_from_the_last_checkpoint(tmp_path, tiny_digits):
    steps = 100
    cfg, run = _train_config(tmp_path, tiny_digits["npz"], steps), tmp_path / "run"
    procs = []
    for i, tf_config in enumerate(tf_configs(2)):
        env = {**os.environ, "TF_CONFIG": tf_config}
        procs.append(subprocess.Popen([sys.executable, "-m", "kgan", "train", str(cfg), "--out", str(run)], env=env,
                                      cwd=REPO, stdout=subprocess.DEVNULL, stderr=open(tmp_path / f"t{i}.log", "w")))
    ckpts = run / "checkpoints"
    deadline = time.time() + TIMEOUT
    while not list(ckpts.glob("ckpt-*.index")) and time.time() < deadline and procs[1].poll() is None:
        time.sleep(0.1)
    assert list(ckpts.glob("ckpt-*.index")), (tmp_path / "t0.log").read_text()[-3000:]
    assert (run / ".worker-1-tmp" / "checkpoints").is_dir()  # the non-chief saves to its temporary dir
    procs[1].send_signal(signal.SIGKILL)  # a worker dies mid-run
    procs[1].wait()
    try:  # the chief cannot finish alone: it fails or blocks in a collective; the job is then restarted
        procs[0].wait(timeout=15)
    except subprocess.TimeoutExpired:
        procs[0].kill()
        procs[0].wait()
    assert not (run / "run.json").exists(), "the job finished before the worker was killed; raise steps"
    # Restart the whole job with the same command (here through the local launcher).
    result = subprocess.run([sys.executable, "-m", "kgan", "launch", "--workers", "2", str(cfg), "--out", str(run),
                             "--timeout", str(TIMEOUT)], cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT + 30)
    assert result.returncode == 0, result.stderr[-3000:]
    events = (run / "logs" / "events.log").read_text()
    resumed = [int(line.split("ckpt-")[-1]) for line in events.splitlines() if "resumed from" in line]
    assert resumed and 0 < resumed[-1] < steps
    assert json.loads((run / "run.json").read_text())["step"] == steps
    assert not list(run.glob(".worker-*-tmp")), "non-chief temporary dirs must be removed at the end"
    rows = (run / "logs" / "history.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(10, steps + 1, 10))  # only the chief logs, once


# ----- mixed precision ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("tricks", [[], ["spectral_norm"]], ids=["plain", "spectral_norm"])  # the default has SN
@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_and_stays_float32_outside(tmp_path, tiny_digits, policy, tricks):
    import keras
    import tensorflow as tf

    import kgan.config
    from kgan.training import load_run, train

    base = experiment("dcgan", steps=3, log_every=1, snapshot_every=3, checkpoint_every=3, mixed_precision=policy,
                      allow_emulated_bfloat16=True)
    cfg = kgan.config.from_dict({**base, "model": {**base["model"], "options": {"tricks": tricks}},
                                 "data": {"source": f"npz:{tiny_digits['npz']}", "resolution": 8, "batch_size": 8}})
    gan = train(cfg, tmp_path / "run", verbose=False)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after training
    assert gan.generator.layers[-1].dtype_policy.compute_dtype == "float32"
    assert gan.discriminator(np.zeros((2, 8, 8, 1), "float32")).dtype == tf.float32  # the logits, SN-wrapped or not
    lso = isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    assert lso == (policy == "mixed_float16") and lso == isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    rows = (tmp_path / "run" / "logs" / "history.csv").read_text().splitlines()
    header = rows[0].split(",")
    for row in rows[1:]:
        values = dict(zip(header, map(float, row.split(","))))
        assert np.isfinite(values["d_loss"]) and np.isfinite(values["g_loss"])
    out = gan.generate(tf.random.normal((4, 8)))
    assert out.dtype == tf.float32
    snap = np.load(tmp_path / "run" / "snapshots" / "step_0000003.npz")
    assert snap["images"].dtype == np.uint8
    _, reloaded, step = load_run(tmp_path / "run")  # the checkpoint reloads under the float32 policy
    assert step == 3 and reloaded.generate(np.zeros((2, 8), "float32")).dtype == tf.float32
    assert set(json.loads((tmp_path / "run" / "run.json").read_text())["cpu"]) >= {"model", "flags", "native_bfloat16"}


CPUINFO = "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx2 fma avx512f{}\n\nprocessor\t: 1\n"


def test_cpu_description_reads_the_flags_that_set_speed():
    from kgan import cpu

    plain, bf16 = cpu.describe(CPUINFO.format("")), cpu.describe(CPUINFO.format(" avx512_bf16 amx_tile"))
    assert plain["model"] == "Test CPU" and plain["flags"] == ["avx2", "fma", "avx512f"]
    assert not plain["native_bfloat16"] and bf16["native_bfloat16"] and "amx_tile" in bf16["flags"]
    assert "bfloat16 emulated" in cpu.summary_line(plain) and "bfloat16 native" in cpu.summary_line(bf16)


def test_emulated_bfloat16_is_refused_unless_allowed(tmp_path, tiny_digits, monkeypatch):
    """mixed_bfloat16 on a CPU without AVX512_BF16/AMX is many times slower than float32: refused before the
    run directory is written, unless train.allow_emulated_bfloat16; a native CPU or a GPU runs it."""
    import kgan.config
    from kgan import cpu
    from kgan.errors import ConfigError
    from kgan.training import train

    no_bf16 = cpu.cpu_flags(CPUINFO.format(""))
    with pytest.raises(ConfigError, match="train.mixed_precision.*allow_emulated_bfloat16"):
        cpu.check_precision("mixed_bfloat16", False, gpu_visible=False, flags=no_bf16)
    cpu.check_precision("mixed_bfloat16", True, gpu_visible=False, flags=no_bf16)
    cpu.check_precision("mixed_bfloat16", False, gpu_visible=True, flags=no_bf16)
    cpu.check_precision("mixed_bfloat16", False, gpu_visible=False, flags=cpu.cpu_flags(CPUINFO.format(" amx_bf16")))
    cpu.check_precision("", False, gpu_visible=False, flags=no_bf16)

    monkeypatch.setattr(cpu, "CPUINFO", tmp_path / "cpuinfo")
    (tmp_path / "cpuinfo").write_text(CPUINFO.format(""))
    cfg = kgan.config.from_dict({**experiment("dcgan", steps=1, mixed_precision="mixed_bfloat16"),
                                 "data": {"source": f"npz:{tiny_digits['npz']}", "resolution": 8, "batch_size": 8}})
    with pytest.raises(ConfigError, match="no native bfloat16"):
        train(cfg, tmp_path / "run", verbose=False)
    assert not (tmp_path / "run").exists()
