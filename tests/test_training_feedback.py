"""What a person sees while training: startup lines, a progress bar with elapsed<remaining, losses in group
order, the strategy, a next-step hint; TensorBoard gets snapshots and hyperparameters too."""

import json

from tensorboard.backend.event_processing import event_accumulator

from kgan.progress import clock, training_line

from conftest import REPO, cli


def test_clock_and_training_line_follow_tqdm_conventions():
    assert [clock(s) for s in (0, 59.6, 61, 3600, 3725)] == ["0:00", "1:00", "1:01", "1:00:00", "1:02:05"]
    line = training_line(25, 100, 30.0, 640.0, 64, {"d_loss": 0.5, "g_loss": 1.25})
    assert line == "step 25/100 [=====>..............]  25% 0:30<0:08 640 img/s d_loss=0.500 g_loss=1.250"
    assert "[====================] 100%" in training_line(100, 100, 9.0, 1.0, 1, {})


def test_kgan_train_says_what_it_does_and_what_to_do_next(tmp_path):
    run = tmp_path / "run"
    r = cli("train", str(REPO / "pipelines" / "tiny.toml"), "--out", str(run), "--steps", "20", cwd=tmp_path)
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


def test_a_typo_in_model_options_fails_before_anything_is_written(tmp_path):
    """`--set model.options.tricks=[typo]` used to fail inside training with a traceback, leaving a half-made
    run directory (and the pipeline failed only after data preparation and classifier training)."""
    out = tmp_path / "run"
    r = cli("train", str(REPO / "pipelines" / "tiny.toml"), "--out", str(out),
            "--set", 'model.options.tricks=["minibach_stddev"]', cwd=tmp_path)
    assert r.returncode == 2 and "model.options.tricks: unknown trick 'minibach_stddev'" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    bad = tmp_path / "bad.toml"
    bad.write_text((REPO / "pipelines" / "tiny.toml").read_text().replace('width = 8', 'width = 8\noptions = {tricks = ["minibach_stddev"]}'))
    p = cli("pipeline", str(bad), "--root", str(tmp_path / "root"), cwd=tmp_path)
    assert p.returncode == 2 and "model.options.tricks" in p.stderr and not (tmp_path / "root").exists()
