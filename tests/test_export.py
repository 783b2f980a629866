"""kgan.export: TF Serving SavedModels that load without kgan/Keras, published atomically."""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, cli, run_cli

TINY = {"name": "tiny", "data": {"limit": 64, "batch_size": 16},
        "model": {"name": "dcgan", "width": 8, "latent_dim": 8},
        "train": {"steps": 4, "checkpoint_every": 2, "snapshot_every": 4, "log_every": 2},
        "export": {"warmup_requests": 3}}


def _train(root: Path, **overrides) -> Path:
    from kgan.config import from_dict
    from kgan.training import train

    cfg = from_dict(TINY).replace(**overrides)
    train(cfg, root, verbose=False)
    return root


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """An unconditional EMA run and a conditional run without EMA (4 and 2 steps)."""
    root = tmp_path_factory.mktemp("export_runs")
    return {"plain": _train(root / "plain"),
            "cond": _train(root / "cond", **{"model.num_classes": 10, "train.ema": 0.0, "train.steps": 2,
                                            "name": "tinycond"})}


@pytest.fixture(scope="session")
def exported(runs, tmp_path_factory):
    from kgan.export import export_run

    base = tmp_path_factory.mktemp("saved_models")
    return {"base": base, "plain": export_run(runs["plain"], "plain", base),
            "cond": export_run(runs["cond"], None, base)}


def _tree(path: Path) -> dict:
    """{relative path: sha256} of every file under path (to prove nothing changed)."""
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


# A fresh interpreter in which kgan and keras cannot be imported at all: TensorFlow 2.21 itself pulls in
# `keras` lazily when it is importable, so "not in sys.modules" would be vacuous; blocking the import
# (sys.modules[name] = None makes `import name` raise) proves the SavedModel needs neither.
LOADER = textwrap.dedent("""
    import sys
    for blocked in ("kgan", "keras", "tf_keras"):
        sys.modules[blocked] = None
    import numpy as np
    import tensorflow as tf

    out = {}
    for key, path, z_path in zip(sys.argv[1::3], sys.argv[2::3], sys.argv[3::3]):
        m = tf.saved_model.load(path)
        z = np.load(z_path)
        inputs = {"z": tf.constant(z)}
        if "label" in m.signatures["serving_default"].structured_input_signature[1]:
            inputs["label"] = tf.constant(np.arange(len(z)) % 10, tf.int32)
        for k, v in m.signatures["serving_default"](**inputs).items():
            out[f"{key}/default/{k}"] = v.numpy()
        sample = m.signatures["sample"]
        for tag, seed, psi in (("a", 1, 1.0), ("b", 1, 1.0), ("c", 2, 1.0), ("zero", 3, 0.0)):
            r = sample(num_samples=tf.constant(5), seed=tf.constant(seed), truncation=tf.constant(psi))
            for k, v in r.items():
                out[f"{key}/sample_{tag}/{k}"] = v.numpy()
        meta = m.signatures["metadata"]()
        out[f"{key}/meta_json"] = np.array(meta["json"].numpy().decode())
    imported = [n for n, mod in sys.modules.items() if mod is not None and n.split(".")[0] in ("kgan", "keras")]
    assert not imported, imported
    np.savez(sys.argv[-1], **out)
""")


def test_export_loads_and_matches_in_a_process_without_kgan_or_keras(runs, exported, tmp_path):
    from kgan.imageio import to_uint8
    from kgan.training import load_run

    args, expected = [], {}
    for key in ("plain", "cond"):
        _, gan, _ = load_run(runs[key])
        z = np.random.default_rng(7).standard_normal((6, gan.latent_dim)).astype("float32")
        np.save(tmp_path / f"{key}_z.npy", z)
        labels = (np.arange(6) % 10).astype("int32") if gan.num_classes else None
        expected[key] = np.asarray(gan.generate(z, labels))
        args += [key, str(exported[key]), str(tmp_path / f"{key}_z.npy")]
    script = tmp_path / "load.py"
    script.write_text(LOADER)
    proc = subprocess.run([sys.executable, str(script), *args, str(tmp_path / "out.npz")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    for key in ("plain", "cond"):
        images, floats = out[f"{key}/default/images"], out[f"{key}/default/images_float"]
        assert images.dtype == np.uint8 and images.shape == (6, 28, 28, 1)
        assert floats.dtype == np.float32 and floats.shape == (6, 28, 28, 1)
        assert floats.min() >= -1.0 and floats.max() <= 1.0
        np.testing.assert_allclose(floats, expected[key], atol=1e-5)
        assert np.abs(images.astype(int) - to_uint8(expected[key]).astype(int)).max() <= 1  # rounding ties only
        a, b, c = (out[f"{key}/sample_{t}/images"] for t in "abc")
        assert a.shape == (5, 28, 28, 1) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)  # same seed -> identical
        assert not np.array_equal(a, c)  # different seed -> different
        zero = out[f"{key}/sample_zero/images_float"]  # truncation 0: every z is the mean
        if key == "plain":
            np.testing.assert_allclose(zero, np.broadcast_to(zero[:1], zero.shape), atol=1e-6)
        meta = json.loads(str(out[f"{key}/meta_json"]))
        assert meta["latent_dim"] == 8 and meta["num_classes"] == (10 if key == "cond" else 0)
    assert json.loads(str(out["plain/meta_json"]))["ema"] is True
    assert json.loads(str(out["cond/meta_json"]))["ema"] is False


def test_layout_metadata_asset_and_keras_copy(runs, exported):
    from kgan.export import read_metadata

    version = exported["plain"]
    assert version.parent == exported["base"] / "plain" and version.name.isdigit()
    for rel in ("saved_model.pb", "variables", "assets/kgan_metadata.json",
                "assets.extra/tf_serving_warmup_requests", "assets.extra/generator.keras"):
        assert (version / rel).exists(), rel
    meta = read_metadata(exported["base"] / "plain")
    assert meta == json.loads((version / "assets" / "kgan_metadata.json").read_text())
    assert {k: meta[k] for k in ("name", "model", "latent_dim", "resolution", "channels", "num_classes",
                                  "training_steps", "ema")} == {
        "name": "plain", "model": "dcgan", "latent_dim": 8, "resolution": 28, "channels": 1,
        "num_classes": 0, "training_steps": 4, "ema": True}
    assert meta["signatures"] == ["serving_default", "sample", "metadata"] and meta["kgan_version"]
    # the conditional export took its name from the config (name = "tinycond")
    assert exported["cond"].parent.name == "tinycond"
    assert not [p for p in (exported["base"] / "plain").iterdir() if p.name.startswith(".")]


def test_warmup_file_holds_prediction_logs(exported):
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    for key, n_inputs in (("plain", {"z"}), ("cond", {"z", "label"})):
        path = exported[key] / "assets.extra" / "tf_serving_warmup_requests"
        logs = []
        for record in tf.data.TFRecordDataset(str(path)):
            log = prediction_log_pb2.PredictionLog()
            log.ParseFromString(record.numpy())
            logs.append(log)
        assert len(logs) == 3
        request = logs[0].predict_log.request
        assert request.model_spec.name == exported[key].parent.name
        assert request.model_spec.signature_name == "serving_default"
        assert set(request.inputs) == n_inputs
        z = tf.make_ndarray(request.inputs["z"])
        assert z.dtype == np.float32 and z.shape == (1, 8)
        if "label" in n_inputs:
            assert tf.make_ndarray(request.inputs["label"]).dtype == np.int32


def test_models_config_parses_and_follows_serving_base(exported, tmp_path):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    from kgan.export import write_models_config

    def parse(path):
        return text_format.Parse(path.read_text(), model_server_config_pb2.ModelServerConfig())

    base = exported["base"]
    config = parse(base / "models.config")
    entries = {c.name: c for c in config.model_config_list.config}
    assert set(entries) == {"plain", "tinycond"}
    assert entries["plain"].base_path == str((base / "plain").resolve())
    assert all(c.model_platform == "tensorflow" for c in entries.values())
    copy = tmp_path / "copy"
    shutil.copytree(base, copy)
    write_models_config(copy, serving_base="/models")
    assert {c.base_path for c in parse(copy / "models.config").model_config_list.config} == {
        "/models/plain", "/models/tinycond"}


def test_failure_mid_export_leaves_nothing_and_older_versions_intact(runs, tmp_path, monkeypatch):
    from kgan.export import existing_versions, export_run, signatures

    base = tmp_path / "sm"
    first = export_run(runs["plain"], "m", base)
    before = _tree(base)
    real_save = signatures.save

    def broken_save(module, path):
        real_save(module, path)  # a complete-looking SavedModel in the temp dir ...
        (Path(path) / "partial.bin").write_bytes(b"x" * 100)
        raise RuntimeError("disk fell off")  # ... then the export dies before publishing

    monkeypatch.setattr(signatures, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk fell off"):
        export_run(runs["plain"], "m", base)
    assert existing_versions(base / "m") == [1]
    assert sorted(p.name for p in (base / "m").iterdir()) == ["1"]  # no temp dir left
    assert _tree(base) == before and first == base / "m" / "1"
    monkeypatch.setattr(signatures, "save", real_save)
    assert export_run(runs["plain"], "m", base) == base / "m" / "2"
    assert {f"m/1/{k}": v for k, v in _tree(base / "m" / "1").items()} == {
        k: v for k, v in before.items() if k.startswith("m/1/")}


def test_publish_races_get_distinct_versions(tmp_path):
    from kgan.export import versions

    model_dir = tmp_path / "m"
    model_dir.mkdir()
    (model_dir / "3").mkdir()
    (model_dir / "3" / "saved_model.pb").write_text("old")
    barrier, results = threading.Barrier(8), []

    def worker(i):
        built = Path(tempfile.mkdtemp(dir=model_dir, prefix=versions.TMP_PREFIX))
        (built / "saved_model.pb").write_text(str(i))
        barrier.wait()
        results.append((i, versions.publish(built, model_dir)))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(int(p.name) for _, p in results) == list(range(4, 12))
    for i, p in results:
        assert (p / "saved_model.pb").read_text() == str(i)
    assert (model_dir / "3" / "saved_model.pb").read_text() == "old"
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(str(v) for v in range(3, 12))


def test_lost_rename_race_retries_next_version(tmp_path, monkeypatch):
    from kgan.export import versions

    model_dir = tmp_path / "m"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "1" / "f").write_text("old")
    built = model_dir / ".kgan-export-tmp-x"
    built.mkdir()
    (built / "f").write_text("new")
    real_rename, calls = os.rename, []

    def rename(src, dst):  # another exporter publishes version 2 between our listing and our rename
        calls.append(Path(dst).name)
        if len(calls) == 1:
            (Path(dst)).mkdir()
            (Path(dst) / "f").write_text("theirs")
        real_rename(src, dst)

    monkeypatch.setattr(versions.os, "rename", rename)
    assert versions.publish(built, model_dir) == model_dir / "3"
    assert calls == ["2", "3"] and (model_dir / "2" / "f").read_text() == "theirs"


def test_concurrent_cli_exports_get_distinct_versions(runs, tmp_path):
    base = tmp_path / "sm"
    cmd = [sys.executable, "-m", "kgan", "export", str(runs["cond"]), "--name", "c", "--base", str(base)]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    assert sorted(p.name for p in (base / "c").iterdir()) == ["1", "2"]
    assert all((base / "c" / v / "saved_model.pb").is_file() for v in ("1", "2"))


@pytest.mark.parametrize("name", ["", "..", ".", "a/b", "../escape", "/abs", "a\\b", ".hidden", "-x"])
def test_bad_names_are_refused_before_anything_is_written(runs, tmp_path, name):
    from kgan.errors import ExportError
    from kgan.export import export_run

    with pytest.raises(ExportError, match="name"):
        export_run(runs["plain"], name, tmp_path / "sm")
    assert not (tmp_path / "sm").exists() and not (tmp_path / "escape").exists()


def test_missing_and_corrupt_checkpoints(runs, tmp_path):
    from kgan.errors import CheckpointError
    from kgan.export import export_run

    base = tmp_path / "sm"
    with pytest.raises(CheckpointError, match="ckpt-999"):
        export_run(runs["plain"] / "checkpoints" / "ckpt-999", "m", base)
    with pytest.raises(CheckpointError, match="no such run"):
        export_run(tmp_path / "nowhere", "m", base)
    broken = tmp_path / "broken"
    shutil.copytree(runs["plain"], broken)
    for data in (broken / "checkpoints").glob("ckpt-4.data-*"):
        data.write_bytes(data.read_bytes()[:50])
    with pytest.raises(CheckpointError, match="unreadable"):
        export_run(broken / "checkpoints" / "ckpt-4", "m", base)
    assert not base.exists()


def test_a_chosen_checkpoint_is_exported(runs, tmp_path):
    from kgan.export import export_run, read_metadata

    version = export_run(runs["plain"] / "checkpoints" / "ckpt-2", "early", tmp_path / "sm")
    meta = read_metadata(version)
    assert meta["training_steps"] == 2 and meta["source"].endswith("ckpt-2")


def test_unwritable_base_is_refused_and_nothing_is_written(runs, tmp_path):
    from kgan.errors import ExportError
    from kgan.export import export_run

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    for base in (blocker, blocker / "sub"):
        with pytest.raises(ExportError, match="not a directory"):
            export_run(runs["plain"], "m", base)
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
    readonly = tmp_path / "ro"
    readonly.mkdir()
    from kgan.export import versions

    with pytest.MonkeyPatch.context() as mp:  # what a non-root user sees on a read-only directory
        mp.setattr(versions.os, "access", lambda path, mode: False)
        with pytest.raises(ExportError, match="not writable"):
            export_run(runs["plain"], "m", readonly / "models")
    assert list(readonly.iterdir()) == []
    readonly.chmod(0o555)
    try:
        # A real read-only directory, where chmod binds (it does not for root, which the os.access case covers).
        if not os.access(readonly, os.W_OK):
            with pytest.raises(ExportError, match="not writable"):
                export_run(runs["plain"], "m", readonly)
            assert list(readonly.iterdir()) == []
    finally:
        readonly.chmod(0o755)


def test_cli_export_and_sample_from_the_export(runs, tmp_path):
    from PIL import Image

    base = tmp_path / "sm"
    proc = cli("export", str(runs["plain"]), "--name", "cli", "--base", str(base), "--serving-base", "/models",
               "--warmup-requests", "0")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "/models/cli" in (base / "models.config").read_text()
    assert not (base / "cli" / "1" / "assets.extra" / "tf_serving_warmup_requests").exists()
    proc = cli("sample", str(base / "cli"), "--n", "16", "--out", str(tmp_path / "x.png"), "--scale", "1",
               "--version", "1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Image.open(tmp_path / "x.png") as image:
        image.verify()
    with Image.open(tmp_path / "x.png") as image:
        assert image.format == "PNG" and image.size == (4 * 28, 4 * 28)


def test_cli_errors_are_one_line(tmp_path):
    proc = cli("export", str(tmp_path), "--name", "../x")
    assert proc.returncode == 2 and "error: export name '../x'" in proc.stderr
    proc = cli("sample", str(tmp_path / "nothing"), "--n", "4", "--out", str(tmp_path / "x.png"))
    assert proc.returncode == 2


def test_sample_from_export_is_deterministic_and_picks_versions(exported):
    from kgan.errors import ExportError
    from kgan.export import sample_from_export

    a = sample_from_export(exported["base"] / "plain", 4, seed=5)
    b = sample_from_export(exported["plain"], 4, seed=5)
    assert a.dtype == np.uint8 and a.shape == (4, 28, 28, 1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ExportError, match="no version 99"):
        sample_from_export(exported["base"] / "plain", 4, version=99)


def test_tf_serving_answers_rest_predict(exported, tmp_path):
    binary = shutil.which("tensorflow_model_server")
    if not binary:
        pytest.skip("tensorflow_model_server not on PATH (it is not on PyPI or in Debian; install it from the "
                    "TF Serving apt repository or use the tensorflow/serving Docker image)")
    import socket
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([binary, f"--rest_api_port={port}", "--port=0",
                               f"--model_config_file={exported['base'] / 'models.config'}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}/v1/models/plain"
        deadline = time.time() + 60
        while True:
            try:
                status = json.load(urllib.request.urlopen(url, timeout=2))
                if status["model_version_status"][0]["state"] == "AVAILABLE":
                    break
            except OSError:
                pass
            assert time.time() < deadline, "TF Serving did not load the model in 60 s"
            time.sleep(0.5)
        body = json.dumps({"instances": [{"z": [0.0] * 8}, {"z": [0.5] * 8}]}).encode()
        reply = json.load(urllib.request.urlopen(urllib.request.Request(f"{url}:predict", data=body), timeout=30))
        images = np.array(reply["predictions"][0]["images"])
        assert images.shape == (28, 28, 1) and images.min() >= 0 and images.max() <= 255
        body = json.dumps({"signature_name": "sample", "inputs": {"num_samples": 2, "seed": 1,
                                                                   "truncation": 1.0}}).encode()
        reply = json.load(urllib.request.urlopen(urllib.request.Request(f"{url}:predict", data=body), timeout=30))
        assert np.array(reply["outputs"]["images"]).shape == (2, 28, 28, 1)
    finally:
        server.terminate()
        server.wait(timeout=30)
