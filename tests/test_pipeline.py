"""The Luigi pipeline end to end: `kgan pipeline`, `luigi --module kgan.tasks`, a central luigid, incremental
rebuilds, failure atomicity and config validation.

One tiny experiment (256 digits, 8 training steps) is run once for the module (`finished`); tests that
mutate a pipeline copy its root. Every stage runs for real: nothing in tasks.py is mocked except
the faults injected on purpose. In-process builds use `luigi.build` with one worker (no fork), so
monkeypatches reach the tasks; the `--workers 2` fork path is exercised by the luigid test.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import REPO, cli, run_cli

STEPS = 8
ALL_TASKS = {"PrepareDataset", "TrainClassifier", "TrainGAN", "ExportModel", "Evaluate", "RenderGallery",
             "Pipeline"}
LUIGI = Path(sys.executable).with_name("luigi")
LUIGID = Path(sys.executable).with_name("luigid")

# RenderGallery fails halfway: the earlier sections have written their images into the gallery's
# temporary directory and a half-written index.html lands there too, then the evaluation section raises.
GALLERY_FAULT = '''
from kgan import tasks

_run = tasks.RenderGallery.run


def run(self):
    import kgan.gallery.evaluation as evaluation

    def broken(src, writer, tmp, report, command):
        (tmp / "index.html").write_text("<html><body>half a gallery")
        raise RuntimeError("injected gallery failure")

    evaluation.evaluation_section = broken
    return _run(self)


tasks.RenderGallery.run = run
'''


# ----------------------------------------------------------------------------------------------- helpers

def experiment(export_base: Path, **sections) -> dict:
    """pipelines/tiny.toml made smaller, exporting under `export_base`; `sections` update its tables."""
    d = tomllib.loads((REPO / "pipelines" / "tiny.toml").read_text())
    d["data"].update(limit=256, batch_size=32)
    d["train"].update(steps=STEPS, checkpoint_every=4, snapshot_every=4, log_every=4)
    d["eval"].update(num_samples=128, classifier_epochs=1)
    d["export"] = {"base": str(export_base)}
    for name, values in sections.items():
        d.setdefault(name, {}).update(values)
    return d


def write_toml(path: Path, d: dict, *, reverse: bool = False) -> Path:
    """A TOML file for `d` (scalars and lists of scalars); `reverse` writes every table and key backwards."""
    order = (lambda items: list(reversed(list(items)))) if reverse else list
    top = [(k, v) for k, v in d.items() if not isinstance(v, dict)]
    tables = [(k, v) for k, v in d.items() if isinstance(v, dict)]
    lines = [f"{k} = {json.dumps(v)}" for k, v in order(top)]
    for name, table in order(tables):
        lines += ["", f"[{name}]", *(f"{k} = {json.dumps(v)}" for k, v in order(table.items()))]
    path.write_text("\n".join(lines) + "\n")
    return path


def luigi_cli(*args: str, env: dict | None = None, prelude: str | None = None, timeout: float = 300):
    """`luigi --module kgan.tasks ARGS` from the repository root (so luigi.cfg is read)."""
    env = {**os.environ, **(env or {})}
    if prelude is None:
        cmd = [str(LUIGI), "--module", "kgan.tasks", *args]
    else:  # import a fault-injection module first, then run luigi's own entry point
        code = f"import sys, {prelude}; from luigi.cmdline import luigi_run; luigi_run(sys.argv[1:])"
        cmd = [sys.executable, "-c", code, "--module", "kgan.tasks", *args]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def luigi_in_process():
    """`luigi.build` in this process, reading the shipped luigi.cfg (check_complete_on_run, retcodes)."""
    import luigi

    luigi.configuration.LuigiConfigParser.add_config_path(str(REPO / "luigi.cfg"))
    return luigi


def build(luigi, task):
    return luigi.build([task], local_scheduler=True, detailed_summary=True, workers=1)


def stage_tasks(cfg_path: Path, root: Path) -> dict:
    """Every task of the DAG for a config, by class name."""
    from kgan import tasks

    top = tasks.Pipeline(config=str(cfg_path), root=str(root))
    reqs = top.requires()
    stages = {type(t).__name__: t for t in reqs.values()}
    stages["TrainClassifier"] = reqs["eval"].requires()["classifier"]
    stages["Pipeline"] = top
    return stages


def fingerprints(cfg_path: Path, root: Path) -> dict:
    """(inode, mtime) of each task's output; every output is written atomically, so a rerun changes both."""
    out = {}
    for name, task in stage_tasks(cfg_path, root).items():
        try:
            st = os.stat(task.output().path)
            out[name] = (st.st_ino, st.st_mtime_ns)
        except FileNotFoundError:
            out[name] = None
    return out


def rewritten(before: dict, after: dict) -> set:
    return {name for name, fp in after.items() if fp is not None and fp != before.get(name)}


def summary_count(text: str, phrase: str) -> int:
    m = re.search(rf"\* (\d+) {phrase}", text)
    return int(m.group(1)) if m else 0


def copy_root(finished, tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    shutil.copytree(finished.root, root, symlinks=True)
    return root


def printed_paths(stdout: str) -> dict:
    """The `kgan pipeline finished:` block: key -> path."""
    block = stdout.split("kgan pipeline finished:", 1)[1]
    paths = {}
    for line in block.splitlines():
        m = re.match(r"\s+(dataset_card|run_dir|saved_model|metrics_report|gallery)\s+(\S+)$", line)
        if m:
            paths[m.group(1)] = Path(m.group(2))
    return paths


# ----------------------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One tiny experiment run through `python -m kgan pipeline` (every stage for real)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    cfg = write_toml(tmp / "tiny.toml", experiment(tmp / "saved_models"))
    root = tmp / "runs"
    t0 = time.time()
    proc = run_cli("pipeline", str(cfg), "--root", str(root))
    return SimpleNamespace(tmp=tmp, cfg=cfg, root=root, base=tmp / "saved_models", proc=proc,
                           seconds=time.time() - t0)


# ----------------------------------------------------------------------------------------------- 1, 2: full runs

def test_kgan_pipeline_runs_every_stage_and_prints_where_outputs_are(finished):
    import hashlib

    import numpy as np

    from kgan.data import load_arrays

    proc = finished.proc
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    done = re.findall(r"^\[pipeline\] (\w+)(?:\(\w+\))? done in [\d.]+s$", proc.stderr, re.M)
    assert sorted(done) == sorted(ALL_TASKS), proc.stderr[-3000:]  # one line per stage, with its time
    assert "DEBUG" not in proc.stderr and "INFO" not in proc.stderr  # Luigi's own chatter is kept out
    assert len(proc.stderr.splitlines()) < 40, proc.stderr  # one screen
    paths = printed_paths(proc.stdout)
    assert set(paths) == {"dataset_card", "run_dir", "saved_model", "metrics_report", "gallery"}
    for key, path in paths.items():
        assert path.exists(), f"{key}: {path} was printed but does not exist"

    # dataset card: documents exactly the shard that training read
    card = json.loads(paths["dataset_card"].read_text())
    assert card["count"] == 256 and card["shape"] == [28, 28, 1]
    assert sum(card["label_histogram"].values()) == 256 and len(card["label_histogram"]) == 10
    prepared = paths["dataset_card"].parent
    images, labels = load_arrays(f"shards:{prepared}")
    assert images.shape == (256, 28, 28, 1) and images.dtype == np.uint8
    assert sorted(np.bincount(labels).tolist()) == sorted(card["label_histogram"].values())
    for shard in card["shards"]:
        assert hashlib.sha256((prepared / shard["file"]).read_bytes()).hexdigest() == shard["sha256"]

    # training run: checkpoints up to the last step, completion marker
    run_dir = paths["run_dir"]
    assert run_dir.parent == finished.root / "tiny"
    assert (run_dir / "checkpoints" / "checkpoint").is_file()
    assert (run_dir / "checkpoints" / f"ckpt-{STEPS}.index").is_file()
    assert json.loads((run_dir / "train_complete.json").read_text())["step"] == STEPS

    # export: a TF Serving version directory under the configured base, nothing in the repository
    assert paths["saved_model"] == finished.base / "tiny" / "1"
    assert (paths["saved_model"] / "saved_model.pb").is_file()

    # evaluation report and gallery
    report = json.loads(paths["metrics_report"].read_text())
    assert {"fid", "kid", "is", "pr", "coverage"} <= set(report["metrics"])
    assert report["num_samples"] == 128
    assert report["reference_points"], "report.json has no reference points"
    assert np.isfinite(report["metrics"]["fid"]["value"])
    html = paths["gallery"].read_text()
    assert paths["gallery"].name == "index.html" and "<html" in html
    for src in re.findall(r'src="([^"]+)"', html):
        assert (paths["gallery"].parent / src).is_file(), src

    # the Pipeline summary JSON records the same paths; the metrics table is printed
    summary = json.loads(next((finished.root / "tiny").glob("pipeline-*.json")).read_text())
    assert {k: Path(v) for k, v in summary.items()} == paths
    assert "FID" in proc.stdout


def test_metric_history_reaches_tensorboard(finished):
    from tensorboard.backend.event_processing import event_accumulator

    run_dir = printed_paths(finished.proc.stdout)["run_dir"]
    assert list((run_dir / "reports").glob("step_*.json"))
    acc = event_accumulator.EventAccumulator(str(run_dir / "logs" / "tensorboard"), size_guidance={"tensors": 0})
    acc.Reload()
    assert {"metrics/FID", "metrics/IS"} <= set(acc.Tags()["tensors"])


def test_luigi_cli_with_local_scheduler(finished, tmp_path):
    """Luigi's own CLI on a copy of the finished pipeline whose gallery and summary are gone: it runs those two
    and nothing else, and ends by saying where everything is (issue: it used to print nothing of it). The whole
    DAG through luigi's CLI: test_central_scheduler_with_two_workers."""
    root = copy_root(finished, tmp_path)
    stages = stage_tasks(finished.cfg, root)
    shutil.rmtree(Path(stages["RenderGallery"].output().path).parent)
    Path(stages["Pipeline"].output().path).unlink()
    before = fingerprints(finished.cfg, root)
    proc = luigi_cli("Pipeline", "--config", str(finished.cfg), "--root", str(root), "--local-scheduler")
    assert proc.returncode == 0, proc.stderr[-5000:]
    assert summary_count(proc.stderr, "ran successfully") == 2
    assert rewritten(before, fingerprints(finished.cfg, root)) == {"RenderGallery", "Pipeline"}
    summary = json.loads(Path(stages["Pipeline"].output().path).read_text())
    assert Path(summary["gallery"]).is_file() and Path(summary["metrics_report"]).is_file()
    assert (Path(summary["saved_model"]) / "saved_model.pb").is_file()
    assert f"gallery         {summary['gallery']}" in proc.stdout


# ----------------------------------------------------------------------------------------------- 3: incremental

def test_rerunning_a_finished_pipeline_runs_nothing(finished, luigi_in_process, tmp_path):
    from kgan import tasks

    root = copy_root(finished, tmp_path)
    before = fingerprints(finished.cfg, root)
    assert None not in before.values()
    result = build(luigi_in_process, tasks.Pipeline(config=str(finished.cfg), root=str(root)))
    assert result.scheduling_succeeded and result.status.name == "SUCCESS", result.summary_text
    assert summary_count(result.summary_text, "ran successfully") == 0
    assert fingerprints(finished.cfg, root) == before


def test_changing_train_steps_reruns_training_and_what_follows_only(finished, luigi_in_process, tmp_path):
    from kgan import tasks

    root = copy_root(finished, tmp_path)
    cfg = write_toml(tmp_path / "tiny.toml", experiment(finished.base, train={"steps": STEPS + 2}))
    old = fingerprints(finished.cfg, root)
    before = fingerprints(cfg, root)
    # data preparation and the classifier are shared with the finished run; the rest is new
    assert before["PrepareDataset"] == old["PrepareDataset"] and before["TrainClassifier"] == old["TrainClassifier"]
    assert before["TrainGAN"] is None

    result = build(luigi_in_process, tasks.Pipeline(config=str(cfg), root=str(root)))
    assert result.scheduling_succeeded, result.summary_text
    after = fingerprints(cfg, root)
    assert rewritten(before, after) == {"TrainGAN", "ExportModel", "Evaluate", "RenderGallery", "Pipeline"}
    assert summary_count(result.summary_text, "ran successfully") == 5
    stages = stage_tasks(cfg, root)
    assert json.loads(Path(stages["TrainGAN"].output().path).read_text())["step"] == STEPS + 2
    # the new training exported a new version; the finished run's version and outputs are untouched
    assert Path(stages["ExportModel"].saved_model) != finished.base / "tiny" / "1"
    assert fingerprints(finished.cfg, root) == old


def test_deleting_the_gallery_reruns_only_the_gallery(finished, luigi_in_process, tmp_path):
    from kgan import tasks

    root = copy_root(finished, tmp_path)
    gallery = Path(stage_tasks(finished.cfg, root)["RenderGallery"].output().path).parent
    shutil.rmtree(gallery)
    before = fingerprints(finished.cfg, root)
    result = build(luigi_in_process, tasks.Pipeline(config=str(finished.cfg), root=str(root)))
    assert result.scheduling_succeeded, result.summary_text
    assert rewritten(before, fingerprints(finished.cfg, root)) == {"RenderGallery", "Pipeline"}
    assert summary_count(result.summary_text, "ran successfully") == 2
    assert (gallery / "index.html").is_file()


def test_identity_is_the_config_content_not_its_file_name_or_key_order(finished, luigi_in_process, tmp_path):
    from kgan import tasks

    root = copy_root(finished, tmp_path)
    renamed = tmp_path / "another-name.toml"
    shutil.copy(finished.cfg, renamed)
    reordered = write_toml(tmp_path / "reordered.toml", tomllib.loads(finished.cfg.read_text()), reverse=True)
    assert reordered.read_text() != finished.cfg.read_text()
    before = fingerprints(finished.cfg, root)
    for cfg in (renamed, reordered):
        result = build(luigi_in_process, tasks.Pipeline(config=str(cfg), root=str(root)))
        assert result.scheduling_succeeded and result.status.name == "SUCCESS", result.summary_text
        assert summary_count(result.summary_text, "ran successfully") == 0, f"{cfg.name}: {result.summary_text}"
        assert fingerprints(cfg, root) == before


# ----------------------------------------------------------------------------------------------- 4: failures

def test_a_failing_stage_fails_the_run_and_leaves_no_complete_output(finished, luigi_in_process, tmp_path,
                                                                     monkeypatch):
    import kgan.gallery.evaluation as evaluation
    from kgan import tasks

    root = copy_root(finished, tmp_path)
    stages = stage_tasks(finished.cfg, root)
    gallery = Path(stages["RenderGallery"].output().path).parent
    shutil.rmtree(gallery)
    (tmp_path / "gallery_fault.py").write_text(GALLERY_FAULT)
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}

    def assert_clean():
        assert not gallery.exists(), "a failed gallery left its directory behind"
        leftovers = [p.name for p in gallery.parent.iterdir() if p.name.startswith(f".{gallery.name}")]
        assert leftovers == [], leftovers
        assert not stages["RenderGallery"].complete() and not stages["Pipeline"].complete()

    with monkeypatch.context() as patch:  # the fault module, imported in this process; what it replaces is put back
        patch.setattr(tasks.RenderGallery, "run", tasks.RenderGallery.run)
        patch.setattr(evaluation, "evaluation_section", evaluation.evaluation_section)
        patch.syspath_prepend(str(tmp_path))
        importlib.import_module("gallery_fault")
        proc = cli("pipeline", str(finished.cfg), "--root", str(root))
    sys.modules.pop("gallery_fault", None)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "injected gallery failure" in proc.stderr and "kgan pipeline: failed" in proc.stderr
    assert "kgan pipeline finished" not in proc.stdout
    assert_clean()

    proc = luigi_cli("Pipeline", "--config", str(finished.cfg), "--root", str(root), "--local-scheduler",
                     prelude="gallery_fault", env=env)
    assert proc.returncode == 30, proc.stderr[-3000:]  # [retcode] task_failed in luigi.cfg
    assert "injected gallery failure" in proc.stderr
    assert_clean()

    # with the fault gone, a rerun renders the gallery (and only that)
    before = fingerprints(finished.cfg, root)
    result = build(luigi_in_process, tasks.Pipeline(config=str(finished.cfg), root=str(root)))
    assert result.status.name == "SUCCESS", result.summary_text
    assert rewritten(before, fingerprints(finished.cfg, root)) == {"RenderGallery", "Pipeline"}
    assert "half a gallery" not in (gallery / "index.html").read_text()


def test_failed_training_is_incomplete_and_a_rerun_resumes(finished, luigi_in_process, tmp_path, monkeypatch):
    from kgan import tasks
    import tensorflow as tf

    import kgan.training
    from kgan.config import load_config

    root = copy_root(finished, tmp_path)
    steps = STEPS + 4
    cfg = load_config(write_toml(tmp_path / "tiny.toml", experiment(finished.base, train={"steps": steps})))
    task = tasks.TrainGAN.for_config(cfg, str(root))

    class CrashAfterCheckpoint(kgan.training.LuigiProgress):
        def on_train_batch_end(self, batch, logs=None):
            super().on_train_batch_end(batch, logs)
            if kgan.training.current_step(self.model) >= 6:  # the step-4 checkpoint is on disk
                raise RuntimeError("injected training crash")

    monkeypatch.setattr(kgan.training, "LuigiProgress", CrashAfterCheckpoint)
    result = build(luigi_in_process, task)
    assert result.status.name == "FAILED", result.summary_text
    assert not task.complete() and not Path(task.output().path).exists()
    assert tf.train.latest_checkpoint(str(task.run_dir / "checkpoints")).endswith("ckpt-4")

    monkeypatch.undo()
    result = build(luigi_in_process, task)
    assert result.status.name == "SUCCESS", result.summary_text
    assert json.loads(Path(task.output().path).read_text())["step"] == steps
    events = (task.run_dir / "logs" / "events.log").read_text()
    assert "resumed from" in events and "ckpt-4" in events


# ----------------------------------------------------------------------------------------------- 5, 7: luigid

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def task_list(port: int, status: str) -> dict:
    query = urllib.parse.quote(json.dumps({"status": status}))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/task_list?data={query}", timeout=5) as r:
        return json.loads(r.read())["response"]


SCHEDULING_PROBE = '''
import json, sys
from kgan import tasks
after_import = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
tasks.Pipeline(config=sys.argv[1], root=sys.argv[2]).requires()  # what the worker does before it forks
after_scheduling = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print(json.dumps({"after_import": after_import, "after_scheduling": after_scheduling}))
'''


def test_tasks_module_is_fork_safe(tmp_path):
    """Neither `import kgan.tasks` nor scheduling (requires(), which validates the config) imports TensorFlow or
    Keras, so `--workers N` forks a process without TensorFlow state."""
    cfg = write_toml(tmp_path / "tiny.toml", experiment(tmp_path / "saved_models"))
    proc = subprocess.run([sys.executable, "-c", SCHEDULING_PROBE, str(cfg), str(tmp_path / "runs")],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"after_import": [], "after_scheduling": []}


def test_central_scheduler_with_two_workers(tmp_path):
    port = free_port()
    (tmp_path / "logs").mkdir()
    luigid = subprocess.Popen([str(LUIGID), "--port", str(port), "--address", "127.0.0.1",
                               "--state-path", str(tmp_path / "state.pickle"), "--logdir", str(tmp_path / "logs")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                assert task_list(port, "DONE") == {}
                break
            except OSError:
                assert luigid.poll() is None, "luigid exited"
                assert time.time() < deadline, "luigid did not answer"
                time.sleep(0.2)

        cfg = write_toml(tmp_path / "tiny.toml", experiment(tmp_path / "saved_models"))
        proc = luigi_cli("Pipeline", "--config", str(cfg), "--root", str(tmp_path / "runs"), "--workers", "2",
                         "--scheduler-host", "127.0.0.1", "--scheduler-port", str(port))
        assert proc.returncode == 0, proc.stderr[-5000:]
        # each task ran in a forked child of the worker process (see test_tasks_module_is_fork_safe)
        done = re.findall(r"\[pid (\d+)\] Worker Worker\(.*?pid=(\d+)\) done\s+(\w+)\(", proc.stderr)
        assert {name for _, _, name in done} == ALL_TASKS
        assert all(child != parent for child, parent, _ in done)

        tasks_done = task_list(port, "DONE")
        by_name = {t["name"]: t for t in tasks_done.values()}
        assert set(by_name) == ALL_TASKS and len(tasks_done) == len(ALL_TASKS)
        assert task_list(port, "FAILED") == {}
        # progress reported from inside training reached the scheduler
        train = by_name["TrainGAN"]
        assert train["progress_percentage"] == 100
        assert train["status_message"].startswith(f"step {STEPS}/{STEPS}")
        assert by_name["PrepareDataset"]["status_message"] == "256 images [28, 28, 1]"
        assert (tmp_path / "saved_models" / "tiny" / "1" / "saved_model.pb").is_file()
    finally:
        luigid.terminate()
        try:
            luigid.wait(timeout=10)
        except subprocess.TimeoutExpired:
            luigid.kill()
            luigid.wait()


# ----------------------------------------------------------------------------------------------- 6: bad configs

@pytest.mark.parametrize("sections, key", [
    ({"model": {"name": "no_such_gan"}}, "model.name"),
    ({"data": {"source": "bogus:digits"}}, "data.source"),
    ({"data": {"source": "npz:/no/such/digits.npz"}}, "data.source"),
    ({"train": {"steps": -5}}, "train.steps"),
], ids=["unknown-model", "bad-source-scheme", "missing-source-path", "negative-steps"])
def test_bad_config_fails_before_luigi_starts(tmp_path, monkeypatch, capsys, sections, key):
    import luigi

    from kgan.cli import main

    def no_luigi(*args, **kwargs):
        raise AssertionError("luigi.build was called for a bad config")

    monkeypatch.setattr(luigi, "build", no_luigi)
    cfg = write_toml(tmp_path / "bad.toml", experiment(tmp_path / "saved_models", **sections))
    root = tmp_path / "runs"
    assert main(["pipeline", str(cfg), "--root", str(root)]) == 2
    err = capsys.readouterr().err
    assert f"{key}:" in err and str(cfg) in err
    assert not root.exists() and not (tmp_path / "saved_models").exists()


def test_bad_config_exit_code_from_the_command_line(tmp_path):
    cfg = write_toml(tmp_path / "bad.toml", experiment(tmp_path / "saved_models", train={"steps": 0}))
    proc = run_cli("pipeline", str(cfg), "--root", str(tmp_path / "runs"), timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "train.steps" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_a_user_error_inside_a_stage_is_one_line_with_exit_2(tmp_path):
    """Data that passes the pre-flight checks but fails when a stage reads it (NaN labels): the stage line says
    FAILED with the reason, the command ends with one error line and exit 2, no traceback."""
    import numpy as np

    x = np.zeros((64, 28, 28), np.uint8)
    y = np.full(64, np.nan)
    np.savez(tmp_path / "bad.npz", x=x, y=y)
    cfg = write_toml(tmp_path / "bad.toml", experiment(tmp_path / "saved_models",
                                                        data={"source": f"npz:{tmp_path / 'bad.npz'}", "limit": 0}))
    proc = cli("pipeline", str(cfg), "--root", str(tmp_path / "runs"))
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    errors = [l for l in proc.stderr.splitlines() if l.startswith("kgan pipeline: error:")]
    assert len(errors) == 1 and "PrepareDataset" in errors[0] and "bad.npz" in errors[0], proc.stderr
    assert re.search(r"^\[pipeline\] PrepareDataset\(\w+\) FAILED: .*bad\.npz", proc.stderr, re.M)
