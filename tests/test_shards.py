"""Prepared data at any scale: TFRecord shards (round trip, resume, checksums), streaming reads, the per-worker
file split, corrupt files in a folder, the automatic in-memory cache."""

import json

import numpy as np
import pytest
from PIL import Image

from kgan.config import DataConfig
from kgan.errors import DataError

N = 96


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    """N random RGB 16x16 images with labels as an npz source (noise: every byte matters)."""
    root = tmp_path_factory.mktemp("colour")
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (N, 16, 16, 3), dtype=np.uint8)
    labels = rng.integers(0, 5, N)
    np.savez(root / "x.npz", x=images, y=labels)
    return {"images": images, "labels": labels, "source": f"npz:{root / 'x.npz'}"}


def _data(source, **kw):
    # about 32 noise images of 16x16x3 per 0.025 MB shard: several shards from a tiny set
    return DataConfig(**{"source": source, "resolution": 16, "channels": 3, "resize": "none", "batch_size": 8,
                         "shard_mb": 1, **kw})


def _by_index(root):
    """Every record of a prepared set, ordered by its stored index."""
    from kgan.data import shards

    rows = sorted(shards.records(root).as_numpy_iterator(), key=lambda r: r["index"])
    return np.stack([r["image"] for r in rows]), np.array([r["label"] for r in rows]), [r["index"] for r in rows]


@pytest.fixture(scope="module")
def prepared(colour, tmp_path_factory):
    """The set prepared raw and png, 4 shards each (shard_mb sized down through the plan)."""
    from kgan import prepare

    out = {}
    for encoding in ("raw", "png"):
        root = tmp_path_factory.mktemp(encoding)
        data = _data(colour["source"], encoding=encoding)
        plan_per_shard = N // 4
        root.mkdir(exist_ok=True)
        _fix_plan(root, data, plan_per_shard)
        out[encoding] = (root, prepare.prepare_dataset(data, root), data)
    return out


def _fix_plan(root, data, per_shard):
    """A plan of `per_shard` examples per shard (what a small data.shard_mb gives a large set)."""
    from kgan import io
    from kgan.data import shards

    n = -(-N // per_shard)
    io.write_json(root / "plan.json", {"count": N, "encoding": data.encoding, "bytes_per_example": 0, "shards": [
        {"file": shards.shard_name(k, n), "start": k * per_shard, "stop": min(N, (k + 1) * per_shard)}
        for k in range(n)]})


@pytest.mark.parametrize("encoding", ["raw", "png"])
def test_shards_give_back_the_bytes_they_were_given(prepared, colour, encoding):
    root, card, _ = prepared[encoding]
    images, labels, index = _by_index(root)
    assert index == list(range(N)) and len(card["shards"]) == 4 and card["count"] == N
    np.testing.assert_array_equal(images, colour["images"])  # bytes in = bytes out
    np.testing.assert_array_equal(labels, colour["labels"])
    assert card["features"] == {"image": [16, 16, 3]} and card["encoding"] == encoding
    assert card["label_histogram"] == {str(k): int(v) for k, v in enumerate(np.bincount(colour["labels"]))}
    assert len(card["source_sha256"]) == 64 and "in-memory cache" in card["memory_cache"]


def test_the_plan_sizes_shards_by_shard_mb(colour, tmp_path):
    from kgan import prepare

    data = _data(colour["source"], encoding="raw", limit=64)
    plan = prepare._plan(data, tmp_path)
    per_shard = plan["shards"][0]["stop"]
    assert per_shard == min(64, 2**20 // plan["bytes_per_example"]) and plan["bytes_per_example"] >= 16 * 16 * 3


def test_a_killed_preparation_redoes_only_unfinished_shards_and_ends_identical(prepared, colour, tmp_path):
    from kgan import prepare

    root, card, data = prepared["png"]
    _fix_plan(tmp_path, data, N // 4)
    prepare.prepare_dataset(data, tmp_path)
    files = [s["file"] for s in card["shards"]]
    (tmp_path / "card.json").unlink()  # killed before the card: the set is not complete
    (tmp_path / files[1]).unlink()  # killed while writing shard 1
    partial = (tmp_path / files[1]).with_name(f".{files[1]}.tmp-00000001")
    partial.write_bytes(b"partial")
    (tmp_path / files[2]).write_bytes((tmp_path / files[2]).read_bytes()[:-10])  # a torn shard
    before = {f: (tmp_path / f).stat().st_mtime_ns for f in (files[0], files[3])}
    resumed = prepare.prepare_dataset(data, tmp_path)
    assert {f: (tmp_path / f).stat().st_mtime_ns for f in (files[0], files[3])} == before  # not redone
    assert resumed["shards"] == card["shards"] and resumed["sha256"] == card["sha256"]
    assert resumed["source_sha256"] == card["source_sha256"] and not partial.exists()


def test_each_worker_reads_its_own_files_disjoint_and_covering(prepared):
    from kgan.data import shards

    root, card, _ = prepared["raw"]
    files = shards.shard_files(root, card)
    for workers in (1, 2, 3, 4):
        split = [shards.worker_files(files, workers, i) for i in range(workers)]
        assert sorted(f for part in split for f in part) == sorted(files)
        assert sum(len(part) for part in split) == len(files)
        indices = [{int(r["index"]) for r in shards.records(root, card, part).as_numpy_iterator()} for part in split]
        assert set().union(*indices) == set(range(N)) and sum(map(len, indices)) == N  # disjoint examples
    with pytest.raises(DataError, match="4 shard files for 5 workers"):
        shards.worker_files(files, 5, 0)


def test_multi_worker_training_data_is_sharded_by_file_and_split_by_index(prepared, monkeypatch):
    import tensorflow as tf

    from kgan.data import make_dataset
    from kgan.prepare import prepared_data_config

    root, _, data = prepared["raw"]
    trained_on = prepared_data_config(DataConfig(**{**data.__dict__, "holdout": 0.25}), root)
    policy = tf.data.experimental.AutoShardPolicy
    cluster = json.dumps({"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}})
    monkeypatch.setenv("TF_CONFIG", cluster)
    assert make_dataset(trained_on).options().experimental_distribute.auto_shard_policy == policy.FILE
    monkeypatch.delenv("TF_CONFIG")
    assert make_dataset(DataConfig(source="mnist", limit=64)).options(
    ).experimental_distribute.auto_shard_policy == policy.DATA
    unshuffled = DataConfig(**{**trained_on.__dict__, "shuffle_buffer": 0, "batch_size": 1})
    train = [int(y) for _, y in make_dataset(unshuffled, repeat=False).unbatch()]
    held = [int(y) for _, y in make_dataset(unshuffled, repeat=False, split="holdout").unbatch()]
    assert len(train) == 72 and len(held) == 24  # the last quarter by index, whatever order the files give


def _folder(root, n, bad=()):
    root.mkdir()
    rng = np.random.default_rng(1)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(root / f"{i:03d}.png")
    for name in bad:
        (root / name).write_bytes(b"\x89PNG not really")
    return root


def test_a_corrupt_folder_file_fails_naming_it_or_is_skipped_and_counted(tmp_path):
    from kgan import prepare

    root = _folder(tmp_path / "imgs", 20, bad=("005b.png",))
    data = DataConfig(source=f"folder:{root}", resolution=16, channels=3, resize="resize", batch_size=4)
    with pytest.raises(DataError, match=r"005b\.png: cannot decode image"):
        prepare.prepare_dataset(data, tmp_path / "fail")
    card = prepare.prepare_dataset(DataConfig(**{**data.__dict__, "on_error": "skip"}), tmp_path / "skip")
    assert card["count"] == 20 and card["skipped_files"] == [str(root / "005b.png")] and card["skipped"] == [6]
    images, labels, index = _by_index(tmp_path / "skip")
    assert index == list(range(20)) and images.shape == (20, 16, 16, 3)  # positions close over the gap


def test_folder_preparation_matches_the_in_memory_reading(tmp_path):
    from kgan import prepare
    from kgan.data import load_arrays
    from kgan.imageio import to_uint8

    root = _folder(tmp_path / "imgs", 12)
    data = DataConfig(source=f"folder:{root}", resolution=16, channels=3, resize="resize", batch_size=4,
                      encoding="raw")
    prepare.prepare_dataset(data, tmp_path / "out")
    from kgan.data import make_dataset

    direct = np.concatenate([to_uint8(x) for x, _ in make_dataset(
        DataConfig(**{**data.__dict__, "shuffle_buffer": 0, "batch_size": 1}), repeat=False).as_numpy_iterator()])
    np.testing.assert_array_equal(_by_index(tmp_path / "out")[0], direct)
    assert len(load_arrays(f"shards:{tmp_path / 'out'}")[0]) == 12


def _cached(ds) -> bool:
    """Whether a tf.data pipeline holds an in-memory cache stage."""
    seen = [ds]
    while seen:
        d = seen.pop()
        if "Cache" in type(d).__name__:
            return True
        seen += list(getattr(d, "_inputs", lambda: [])())
    return False


def test_the_in_memory_cache_is_automatic_below_its_threshold(prepared):
    from kgan.data import make_dataset
    from kgan.data.preprocess import memory_cache
    from kgan.prepare import prepared_data_config

    root, _, data = prepared["raw"]
    trained_on = prepared_data_config(data, root)
    assert _cached(make_dataset(trained_on))  # 96 x 16 x 16 x 3 floats: 0.3 MB
    assert not _cached(make_dataset(DataConfig(**{**trained_on.__dict__, "cache_mb": 0})))
    assert not _cached(make_dataset(DataConfig(**{**trained_on.__dict__, "cache": False})))
    fits, line = memory_cache(DataConfig(resolution=64, channels=3, cache_mb=1024), 100_000)
    assert not fits and "4688 MB" in line and "streaming" in line


def test_training_logs_whether_its_data_is_cached_or_streamed(prepared, tmp_path):
    """The cache decision is in the run's events.log (and on the console), not only in the card."""
    from kgan.config import from_dict
    from kgan.prepare import prepared_data_config
    from kgan.training import train

    root, _, data = prepared["raw"]
    trained_on = prepared_data_config(data, root)
    for name, cache_mb in (("cached", 1), ("streamed", 0)):
        cfg = from_dict({"name": name, "model": {"name": "dcgan", "width": 4, "latent_dim": 4},
                         "data": {**trained_on.__dict__, "cache_mb": cache_mb, "holdout": 0.25},
                         "train": {"steps": 1, "checkpoint_every": 1, "snapshot_every": 1, "log_every": 1}})
        train(cfg, tmp_path / name, verbose=False)
        events = (tmp_path / name / "logs" / "events.log").read_text().splitlines()
        lines = [line for line in events if "data: " in line]
        assert len(lines) == 1, lines
        expected = ("in-memory cache: 0 MB of decoded examples <= data.cache_mb = 1" if cache_mb else
                    "no in-memory cache: 0 MB of decoded examples > data.cache_mb = 0; streaming")
        assert lines[0].endswith(f"data: train split, 72 examples: {expected}")
