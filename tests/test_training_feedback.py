"""What a person sees while training: startup lines, a progress bar with elapsed<remaining, losses in group
order, the strategy, a next-step hint; TensorBoard gets snapshots and hyperparameters too."""

import json

from tensorboard.backend.event_processing import event_accumulator

from kgan.progress import clock, training_line

from conftest import REPO, run_cli


def test_clock_and_training_line_follow_tqdm_conventions():
    assert [clock(s) for s in (0, 59.6, 61, 3600, 3725)] == ["0:00", "1:00", "1:01", "1:00:00", "1:02:05"]
    line = training_line(25, 100, 30.0, 640.0, 64, {"d_loss": 0.5, "g_loss": 1.25})
    assert line == "step 25/100 [=====>..............]  25% 0:30<0:08 640 img/s d_loss=0.500 g_loss=1.250"
    assert "[====================] 100%" in training_line(100, 100, 9.0, 1.0, 1, {})


def test_kgan_train_says_what_it_does_and_what_to_do_next(tmp_path):
    run = tmp_path / "run"
    r = run_cli("train", str(REPO / "pipelines" / "tiny.toml"), "--out", str(run), "--steps", "20", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith(("[kgan]", "step "))]
    assert lines[0] == "[kgan] strategy: default (one device), 1 worker, 1 replica"
    assert lines[1].startswith("[kgan] building dcgan") and "params" in lines[2]
    steps = [l for l in lines if l.startswith("step ")]
    assert steps[-1].startswith("step 20/20 [====================] 100%")
    assert steps[0].index("d_loss=") < steps[0].index("g_loss=")  # group order, not alphabetical
    assert "next: kgan sample" in r.stdout and "kgan export" in r.stdout
    info = json.loads((run / "run.json").read_text())
    assert info["strategy"] == {"name": "default (one device)", "workers": 1, "replicas": 1,
                                "description": "default (one device), 1 worker, 1 replica"}
    acc = event_accumulator.EventAccumulator(str(run / "logs" / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    tags = set(acc.Tags()["tensors"])
    assert {"snapshot", "_hparams_/session_start_info", "d_loss", "g_loss"} <= tags
