"""`paired:DIR_A,DIR_B`: a user's aligned folders as source/target pairs (edges -> digit made from MNIST),
pix2pix trained on them through the CLI, the refusals that name the file, and the export of the resulting
image -> image model."""

import re

import numpy as np
import pytest
from PIL import Image

import kgan.config
from kgan.data import inspect_source
from kgan.data.features import feature_arrays
from kgan.errors import ConfigError, DataError

from conftest import cli

N = 40


def edges(digits: np.ndarray) -> np.ndarray:
    """Gradient magnitude of each digit, scaled to 0..255 (the source of an edges -> digit pair)."""
    gy, gx = np.gradient(digits.astype(np.float32), axis=(1, 2))
    magnitude = np.hypot(gx, gy)
    return np.rint(255 * magnitude / magnitude.max(axis=(1, 2), keepdims=True)).astype(np.uint8)


def write_pngs(folder, images, names):
    folder.mkdir(parents=True, exist_ok=True)
    for image, name in zip(images, names):
        Image.fromarray(image).save(folder / name)
    return folder


@pytest.fixture(scope="session")
def pairs(tiny_digits, tmp_path_factory):
    digits = tiny_digits["images"][:N, ..., 0]
    names = [f"{i:03d}.png" for i in range(N)][::-1]  # written in reverse: order must come from the names
    root = tmp_path_factory.mktemp("paired")
    a = write_pngs(root / "edges", edges(digits)[::-1], names)
    b = write_pngs(root / "digits", digits[::-1], names)
    return {"a": a, "b": b, "source": f"paired:{a},{b}", "digits": digits, "edges": edges(digits)}


def pix2pix_config(source, **data):
    return {"name": "paired", "seed": 0,
            "model": {"name": "pix2pix", "width": 8, "options": {"dropout_at_inference": False}},
            "data": {"source": source, "batch_size": 8, "holdout": 0.25, **data},
            "train": {"steps": 3, "checkpoint_every": 3, "snapshot_every": 3, "log_every": 1, "ema": 0.0},
            "export": {"warmup_requests": 3}}


@pytest.fixture(scope="session")
def paired_run(pairs, tmp_path_factory):
    """A tiny pix2pix trained 3 steps on the paired folders by `kgan train`."""
    root = tmp_path_factory.mktemp("paired_run")
    config = root / "paired.toml"
    config.write_text(kgan.config.dump_toml(kgan.config.from_dict(pix2pix_config(pairs["source"]))))
    result = cli("train", str(config), "--out", str(root / "run"), cwd=root)
    return {"result": result, "run": root / "run"}


def test_pairs_are_aligned_in_name_order(pairs):
    data = kgan.config.from_dict(pix2pix_config(pairs["source"], shuffle_buffer=0, holdout=0.0)).data
    f = feature_arrays(data, N)
    np.testing.assert_array_equal(f["target"], f["image"])
    np.testing.assert_allclose(f["target"][..., 0], pairs["digits"] / 127.5 - 1, atol=1e-6)  # 000.png first
    np.testing.assert_allclose(f["source"][..., 0], pairs["edges"] / 127.5 - 1, atol=1e-6)
    held = feature_arrays(kgan.config.from_dict(pix2pix_config(pairs["source"], shuffle_buffer=0)).data, N,
                          split="holdout")
    np.testing.assert_allclose(held["source"][..., 0], pairs["edges"][30:] / 127.5 - 1, atol=1e-6)
    info = inspect_source(pairs["source"])
    assert (info["count"], info["shape"], info["source_shape"]) == (N, (28, 28, 1), (28, 28, 1))


def test_pix2pix_trains_on_paired_folders_through_the_cli(paired_run):
    r = paired_run["result"]
    assert r.returncode == 0, r.stderr[-3000:]
    history = (paired_run["run"] / "logs" / "history.csv").read_text().splitlines()
    assert history[0].startswith("step") and "l1" in history[0] and len(history) == 4  # steps 1..3
    assert (paired_run["run"] / "model.keras").is_file()


def _broken(tmp_path, pairs, change):
    """A copy of the paired folders with one change; returns the source string."""
    a = write_pngs(tmp_path / "a", pairs["edges"][:10], [f"{i}.png" for i in range(10)])
    b = write_pngs(tmp_path / "b", pairs["digits"][:10], [f"{i}.png" for i in range(10)])
    change(a, b)
    return f"paired:{a},{b}"


@pytest.mark.parametrize("change,message", [
    (lambda a, b: (b / "3.png").unlink(), r"a/3\.png: no partner .*b/3\.png in the target folder"),
    (lambda a, b: (a / "4.png").unlink(), r"b/4\.png: no partner .*a/4\.png in the source folder"),
    (lambda a, b: Image.new("L", (32, 28)).save(a / "5.png"), r"a/5\.png: is 28x32 but its partner .*b/5\.png is 28x28"),
    (lambda a, b: (b / "6.png").write_bytes(b"not a png"), r"b/6\.png: cannot decode image"),
])
def test_broken_pairs_are_refused_naming_the_file(tmp_path, pairs, change, message):
    source = _broken(tmp_path, pairs, change)
    with pytest.raises(DataError, match=message):
        inspect_source(source)


def test_paired_source_string_and_config_errors(pairs, tmp_path):
    for bad in ("paired:only_one", "paired:a,b,c", "paired:,b"):
        with pytest.raises(DataError, match="expected paired:DIR_A,DIR_B"):
            inspect_source(bad)
    with pytest.raises(ConfigError, match="data.transform: .*already holds source/target pairs"):
        kgan.config.from_dict(pix2pix_config(pairs["source"], transform="edges"))
    source = _broken(tmp_path, pairs, lambda a, b: (b / "3.png").unlink())
    r = cli("data", "inspect", source, "--grid", str(tmp_path / "grid.png"), cwd=tmp_path)
    assert r.returncode == 2 and "no partner" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "grid.png").exists()


def test_prepared_pairs_hold_both_images_and_give_the_folders_batches(pairs, tmp_path):
    """The shards hold each pair's `source` beside its target (the card lists both) and training reads from them
    the very named batches the folders give (pairs aligned, split, shuffled alike); the shards' own `image` is the
    target (reference, classifier, real grid)."""
    from kgan.data import load_arrays
    from kgan.prepare import prepare_dataset, prepared_data_config

    from conftest import assert_same_named_batches

    data = kgan.config.from_dict(pix2pix_config(pairs["source"], shuffle_buffer=16, resolution=32,
                                                resize="pad")).data
    card = prepare_dataset(data, tmp_path / "prepared")
    assert card["count"] == N and card["features"] == {"image": [32, 32, 1], "source": [32, 32, 1]}
    trained_on = prepared_data_config(data, tmp_path / "prepared")
    assert trained_on.source == f"shards:{tmp_path / 'prepared'}"
    assert_same_named_batches(data, trained_on)
    assert_same_named_batches(data, trained_on, batches=1, split="holdout")
    images, _ = load_arrays(trained_on.source)
    np.testing.assert_array_equal(images[:, 2:30, 2:30, 0], pairs["digits"])  # one shard: in index order


def test_a_cropped_pair_is_cut_alike_at_preparation(pairs, tmp_path):
    """`data.resize = "crop"`: each prepared pair is one window of its edges and its digit, the same window."""
    from kgan.data import shards
    from kgan.prepare import prepare_dataset

    data = kgan.config.from_dict(pix2pix_config(pairs["source"], resolution=16, resize="crop")).data
    prepare_dataset(data, tmp_path / "prepared")
    for record in shards.records(tmp_path / "prepared").as_numpy_iterator():
        digit, edge = pairs["digits"][record["index"]], pairs["edges"][record["index"]]
        windows = [(y, x) for y in range(13) for x in range(13)
                   if np.array_equal(record["image"][..., 0], digit[y:y + 16, x:x + 16])
                   and np.array_equal(record["source"][..., 0], edge[y:y + 16, x:x + 16])]
        assert windows, f"example {record['index']}: source and target cut from different windows"


def test_pipeline_source_check_reads_both_folders(pairs, tmp_path):
    """`kgan pipeline` checks a paired source's two folders before Luigi starts (it took `DIR_A,DIR_B` for
    one path and refused every paired source)."""
    from kgan.commands.pipeline import check_source

    check_source(pairs["source"], "paired.toml")
    with pytest.raises(ConfigError, match=r"paired.toml: data.source: .*missing does not exist"):
        check_source(f"paired:{pairs['a']},{tmp_path / 'missing'}", "paired.toml")
    with pytest.raises(ConfigError, match=r"paired.toml: data.source: .*expected paired:DIR_A,DIR_B"):
        check_source(f"paired:{pairs['a']}", "paired.toml")


# A fresh interpreter that cannot import kgan or keras: the export is served by TensorFlow alone.
LOADER = """
import sys
for blocked in ("kgan", "keras", "tf_keras"):
    sys.modules[blocked] = None
import re

import numpy as np
import tensorflow as tf

m = tf.saved_model.load(sys.argv[1])
pixels = np.load(sys.argv[2])
out = {k: v.numpy() for k, v in m.signatures["serving_default"](source=tf.constant(pixels)).items()}
floats = tf.constant(pixels.astype(np.float32) / 127.5 - 1)
out["from_float"] = m.signatures["serving_float"](source=floats)["images_float"].numpy()
errors = []
for signature, bad in (("serving_default", np.zeros((1, 32, 32, 1), np.uint8)),
                       ("serving_default", np.zeros((28, 28, 1), np.uint8)),
                       ("serving_float", np.full((1, 28, 28, 1), 255.0, np.float32))):
    try:
        m.signatures[signature](source=tf.constant(bad))
        errors.append("accepted")
    except tf.errors.InvalidArgumentError as e:
        errors.append(e.message)
np.savez(sys.argv[3], errors=np.array(errors), **out)
"""


def test_image_to_image_export_serves_uint8_and_floats_without_kgan(paired_run, pairs, tmp_path):
    import os
    import subprocess
    import sys

    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    from kgan.export import export_run
    from kgan.imageio import to_uint8
    from kgan.training import load_run

    assert paired_run["result"].returncode == 0, paired_run["result"].stderr[-3000:]
    version = export_run(paired_run["run"], "p2p", tmp_path / "models")
    pixels = pairs["edges"][30:36, ..., None]  # held-out sources
    np.save(tmp_path / "pixels.npy", pixels)
    (tmp_path / "load.py").write_text(LOADER)
    proc = subprocess.run([sys.executable, str(tmp_path / "load.py"), str(version), str(tmp_path / "pixels.npy"),
                           str(tmp_path / "out.npz")], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")

    _, model, _ = load_run(paired_run["run"])
    expected = np.asarray(model.infer({"source": pixels / 127.5 - 1}))
    assert out["images"].dtype == np.uint8 and out["images"].shape == (6, 28, 28, 1)
    np.testing.assert_allclose(out["images_float"], expected, atol=1e-5)
    np.testing.assert_allclose(out["from_float"], expected, atol=1e-5)
    assert np.abs(out["images"].astype(int) - to_uint8(expected).astype(int)).max() <= 1  # rounding ties only
    wrong_size, wrong_rank, out_of_range = out["errors"]
    shape = r"source: expected uint8 0\.\.255 images shaped \[batch, 28, 28, 1\]; got shape"
    assert re.search(shape, wrong_size) and "[1 32 32 1]" in wrong_size
    assert re.search(shape, wrong_rank) and "[28 28 1]" in wrong_rank
    assert "source: expected float32 in [-1, 1] images" in out_of_range and "send 0..255 pixels as uint8" in out_of_range

    requests = []
    for record in tf.data.TFRecordDataset(str(version / "assets.extra" / "tf_serving_warmup_requests")):
        log = prediction_log_pb2.PredictionLog()
        log.ParseFromString(record.numpy())
        requests.append(tf.make_ndarray(log.predict_log.request.inputs["source"]))
    assert len(requests) == 3 and all(r.dtype == np.uint8 and r.shape == (1, 28, 28, 1) for r in requests)
    np.testing.assert_array_equal(np.concatenate(requests), pairs["edges"][30:33, ..., None])  # held-out, real
    assert all(r.std() > 0 for r in requests)
