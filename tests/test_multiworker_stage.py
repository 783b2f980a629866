"""The pipeline's TrainGAN stage runs a multi-worker config: it launches the workers (here through a
`train.launcher` template that kills worker 1 after the first checkpoint), fails when one dies, and a rerun
resumes the run from its last checkpoint and completes with the chief's run; the two workers read one shard file
each, and the chief records the metric history (eval.history_every)."""

import json

import numpy as np

import pytest

from kgan.config import from_dict

STEPS = 40


@pytest.mark.slow
def test_a_killed_worker_fails_the_stage_and_a_rerun_resumes(tmp_path):
    import luigi

    from kgan import tasks

    cfg = from_dict({"name": "mw", "seed": 0,
                     "data": {"source": "mnist", "limit": 2000, "batch_size": 32, "shuffle_buffer": 256,
                              "shard_mb": 1, "encoding": "raw"},  # 1.5 MB: two shards, one per worker
                     "model": {"name": "dcgan", "width": 8, "latent_dim": 8},
                     "train": {"steps": STEPS, "ema": 0.0, "checkpoint_every": 10, "snapshot_every": 100,
                               "log_every": 10, "strategy": "multi_worker", "workers": 2},
                     "eval": {"history_every": 20, "history_samples": 50, "classifier_epochs": 1}})
    root = tmp_path / "runs"
    run_dir = tasks.TrainGAN.for_config(cfg, str(root)).run_dir.resolve()
    kill = (f"if [ {{index}} = 1 ]; then {{command}} & p=$!; "
            f"until ls {run_dir}/checkpoints/ckpt-*.index >/dev/null 2>&1; do sleep 0.2; done; "
            f"kill -9 $p; exit 9; else {{command}}; fi")
    killed = tasks.TrainGAN.for_config(cfg.replace(**{"train.launcher": kill}), str(root))
    assert killed.run_dir.resolve() == run_dir  # the launcher is not part of the stage's identity
    assert not luigi.build([killed], local_scheduler=True, workers=1)
    assert not killed.complete() and list((run_dir / "checkpoints").glob("ckpt-*.index"))

    rerun = tasks.TrainGAN.for_config(cfg, str(root))
    assert luigi.build([rerun], local_scheduler=True, workers=1)
    info = json.loads((run_dir / "train_complete.json").read_text())
    assert info["step"] == STEPS and info["strategy"]["workers"] == 2
    resumed = [line for line in (run_dir / "logs" / "events.log").read_text().splitlines() if "resumed from" in line]
    assert resumed, "the rerun did not resume from the checkpoint"
    assert 'source = "shards:' in (run_dir / tasks.WORKERS_CONFIG).read_text()  # the workers read the shards
    card = json.loads(open(tasks.PrepareDataset.for_config(cfg, str(root)).output().path).read())
    assert len(card["shards"]) == 2  # so each worker read its own file (FILE auto-sharding)
    reports = sorted(p.name for p in (run_dir / "reports").glob("step_*.json"))  # the chief's metric history
    assert reports[-1] == f"step_{STEPS:07d}.json", reports
    assert np.isfinite(json.loads((run_dir / "reports" / reports[-1]).read_text())["metrics"]["fid"]["value"])
