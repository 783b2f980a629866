"""kgan.data: every source scheme, the preprocessing contract, and every bad input."""

import gzip

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image

from conftest import write_idx
from kgan.config import DataConfig
from kgan.data import inspect_source, label_summary, load_arrays, load_source, make_dataset
from kgan.errors import DataError
from kgan.imageio import write_grid_png


def png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    """Two classes of grayscale PNGs; class `b` holds one 20x16 image among 12x12 ones."""
    rng = np.random.default_rng(0)
    for name, n in (("a", 3), ("b", 2)):
        for i in range(n):
            png(tmp_path / "f" / name / f"{i}.png", rng.integers(0, 256, (12, 12), np.uint8))
    png(tmp_path / "f" / "b" / "odd.png", np.full((20, 16), 200, np.uint8))
    return tmp_path / "f"


def cfg(source, **kw):
    """A small DataConfig; a bare path means an npz file."""
    source = source if ":" in str(source) else f"npz:{source}"
    return DataConfig(**{"source": source, "batch_size": 4, "shuffle_buffer": 0, **kw})


def batches(ds):
    return [(x.numpy(), y.numpy()) for x, y in ds]


# ---- sources ----------------------------------------------------------------------------------

def test_vendored_mnist_is_the_10000_image_test_set():
    info = inspect_source("mnist")
    assert info["count"] == 10000 and info["shape"] == (28, 28, 1) and info["dtype"] == "uint8"
    assert info["num_classes"] == 10 and sorted(info["histogram"]) == list(range(10))
    assert sum(info["histogram"].values()) == 10000
    image, label = next(iter(load_source("mnist")))
    assert image.dtype == tf.uint8 and image.shape == (28, 28, 1) and label.dtype == tf.int64


def test_kgan_data_dir_overrides_the_mnist_root(tiny_digits, tmp_path, monkeypatch):
    (tmp_path / "mnist").mkdir()
    write_idx(tmp_path / "mnist" / "x-images-idx3-ubyte", tiny_digits["images"][:7, ..., 0])
    monkeypatch.setenv("KGAN_DATA_DIR", str(tmp_path))
    assert inspect_source("mnist")["count"] == 7
    monkeypatch.setenv("KGAN_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DataError, match="mnist: .*elsewhere/mnist not found; set KGAN_DATA_DIR"):
        load_source("mnist")


def test_idx_file_directory_and_gzip(tiny_digits, tmp_path):
    root, images, labels = tiny_digits["root"], tiny_digits["images"], tiny_digits["labels"]
    for source in (f"idx:{root / 'images-idx3-ubyte'}", f"idx:{root}"):
        x, y = load_arrays(source)
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)
    write_idx(tmp_path / "t-images-idx3-ubyte.gz", images[:10, ..., 0], gz=True)
    write_idx(tmp_path / "t-labels-idx1-ubyte.gz", labels[:10], gz=True)
    x, y = load_arrays(f"idx:{tmp_path / 't-images-idx3-ubyte.gz'}")
    np.testing.assert_array_equal(y, labels[:10])
    (tmp_path / "t-labels-idx1-ubyte.gz").unlink()  # no labels next to the images: unlabelled
    assert set(load_arrays(f"idx:{tmp_path}")[1]) == {-1}


def test_npz_uint8_with_labels_and_float_without(tiny_digits, tmp_path):
    x, y = load_arrays(f"npz:{tiny_digits['npz']}", limit=5)
    assert x.shape == (5, 28, 28, 1) and x.dtype == np.uint8
    np.testing.assert_array_equal(y, tiny_digits["labels"][:5])
    rgb = np.random.default_rng(1).integers(0, 256, (6, 8, 8, 3)).astype(np.uint8)
    np.savez(tmp_path / "f.npz", x=rgb / 255.0)
    x, y = load_arrays(f"npz:{tmp_path / 'f.npz'}")
    np.testing.assert_array_equal(x, rgb)
    assert list(y) == [-1] * 6


def test_folder_keeps_sizes_and_grayscale(folder):
    examples = [(x.numpy(), int(y)) for x, y in load_source(f"folder:{folder}")]
    assert [y for _, y in examples] == [0, 0, 0, 1, 1, 1]
    assert {x.shape for x, _ in examples} == {(12, 12, 1), (20, 16, 1)}
    info = inspect_source(f"folder:{folder}")
    assert info["count"] == 6 and info["shape"] == "mixed" and info["num_classes"] == 2
    assert info["histogram"] == {0: 3, 1: 3}


def test_folder_without_class_subfolders_is_unlabelled_and_rgb_stays_rgb(tmp_path):
    for i in range(3):
        png(tmp_path / f"{i}.jpg", np.full((5, 7, 3), 60 * i, np.uint8))
    x, y = load_arrays(f"folder:{tmp_path}")
    assert x.shape == (3, 5, 7, 3) and list(y) == [-1, -1, -1]


class KganTinyDigits(tfds.core.GeneratorBasedBuilder):
    """A real TFDS dataset built offline in the test (registered as `kgan_tiny_digits`)."""

    VERSION = tfds.core.Version("1.0.0")
    images = np.zeros((0, 28, 28, 1), np.uint8)
    labels = np.zeros((0,), np.int64)

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i, (x, y) in enumerate(zip(self.images, self.labels)):
            yield i, {"image": x, "label": y}


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory, tiny_digits):
    data_dir = tmp_path_factory.mktemp("tfds")
    KganTinyDigits.images = tiny_digits["images"][:40]
    KganTinyDigits.labels = tiny_digits["labels"][:40]
    KganTinyDigits(data_dir=str(data_dir)).download_and_prepare()
    return str(data_dir)


def test_tfds_source_loads_a_prepared_dataset(tfds_dir, tiny_digits):
    x, y = load_arrays("tfds:kgan_tiny_digits:train", data_dir=tfds_dir)
    assert x.shape == (40, 28, 28, 1)
    assert sorted(y) == sorted(tiny_digits["labels"][:40])
    info = inspect_source("tfds:kgan_tiny_digits", data_dir=tfds_dir)
    assert info["count"] == 40 and info["shape"] == (28, 28, 1)
    ds = make_dataset(cfg("tfds:kgan_tiny_digits:train", data_dir=tfds_dir, batch_size=8),
                      repeat=False)
    assert len(batches(ds)) == 5
    labels = tiny_digits["labels"][:40]
    summary = label_summary(cfg("tfds:kgan_tiny_digits:train", data_dir=tfds_dir))
    assert summary == (True, labels.min(), labels.max())


def test_a_tfds_set_can_be_read_in_its_own_format_without_shards(tfds_dir, tiny_digits, tmp_path):
    """data.format = "source": preparation writes only the card (one streamed pass) and training reads TFDS."""
    from kgan.prepare import prepare_dataset, prepared_data_config

    data = cfg("tfds:kgan_tiny_digits:train", data_dir=tfds_dir, format="source")
    card = prepare_dataset(data, tmp_path / "prepared")
    assert sorted(p.name for p in (tmp_path / "prepared").iterdir()) == ["card.json"]
    labels = tiny_digits["labels"][:40]
    assert card["count"] == 40 and card["shape"] == [28, 28, 1] and card["format"] == "source"
    assert card["label_histogram"] == {str(k): int(n) for k, n in zip(*np.unique(labels, return_counts=True))}
    assert abs(card["pixel_mean"] - tiny_digits["images"][:40].mean() / 255) < 1e-6
    assert prepared_data_config(data, tmp_path / "prepared") == data


class KganFloatLabels(KganTinyDigits):
    """Like kgan_tiny_digits but with float labels, which a cast would truncate."""

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.Tensor(shape=(), dtype=np.float32)}))


def test_tfds_float_labels_are_rejected(tmp_path, tiny_digits):
    KganFloatLabels.images = tiny_digits["images"][:4]
    KganFloatLabels.labels = np.array([0.5, 1, 2, 3])
    KganFloatLabels(data_dir=str(tmp_path)).download_and_prepare()
    message = r"tfds:kgan_float_labels in .*: the 'label' feature is float32 shaped \(\); expected one integer"
    with pytest.raises(DataError, match=message):
        load_source("tfds:kgan_float_labels", data_dir=str(tmp_path))
    with pytest.raises(DataError, match=message):
        label_summary(cfg("tfds:kgan_float_labels", data_dir=str(tmp_path)))


# ---- preprocessing ----------------------------------------------------------------------------

def test_scaling_is_exact_and_in_range(tiny_digits):
    (x, y), *_ = batches(make_dataset(cfg(tiny_digits["npz"], resize="none"), repeat=False))
    assert x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_allclose(x, tiny_digits["images"][:4] / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, tiny_digits["labels"][:4])


@pytest.mark.parametrize("resize,resolution", [("pad", 32), ("pad", 8), ("resize", 16), ("crop", 8), ("crop", 32)])
@pytest.mark.parametrize("channels", [1, 3])
def test_output_shape_range_and_channels(folder, resize, resolution, channels):
    ds = make_dataset(cfg(f"folder:{folder}", resize=resize, resolution=resolution,
                          channels=channels), repeat=False)
    (x, y), = batches(ds)  # 6 examples, batch 4, remainder dropped
    assert x.shape == (4, resolution, resolution, channels)
    assert x.min() >= -1.0 and x.max() <= 1.0
    if channels == 3:
        np.testing.assert_array_equal(x[..., 0], x[..., 2])


def test_padding_is_black_and_centred(tiny_digits):
    (x, _), *_ = batches(make_dataset(cfg(tiny_digits["npz"], resolution=32), repeat=False))
    assert (x[:, :2] == -1).all() and (x[:, -2:] == -1).all()
    np.testing.assert_allclose(x[:, 2:30, 2:30], tiny_digits["images"][:4] / 127.5 - 1, atol=1e-6)


def test_rgb_to_grayscale(tmp_path):
    rgb = np.zeros((4, 8, 8, 3), np.uint8)
    rgb[..., 1] = 255
    np.savez(tmp_path / "g.npz", x=rgb)
    (x, _), = batches(make_dataset(cfg(f"npz:{tmp_path / 'g.npz'}", resolution=8), repeat=False))
    assert x.shape == (4, 8, 8, 1)
    np.testing.assert_allclose(x, 0.587 * 255 / 127.5 - 1, atol=2 / 127.5)  # ITU-R 601 green


def test_limit_drop_remainder_and_repeat(tiny_digits):
    source = tiny_digits["npz"]
    assert len(batches(make_dataset(cfg(source, limit=11), repeat=False))) == 2
    repeated = make_dataset(cfg(source, limit=11))
    assert [x.shape[0] for x, _ in repeated.take(7)] == [4] * 7


def test_shuffle_is_seeded_and_reshuffles_each_epoch(tiny_digits):
    def epochs(seed):
        ds = make_dataset(cfg(tiny_digits["npz"], batch_size=64, shuffle_buffer=256), seed=seed)
        return np.concatenate([y for _, y in ds.take(8).as_numpy_iterator()]).reshape(2, 256)

    a, b, c = epochs(1), epochs(1), epochs(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[0], a[1])
    assert sorted(a[0]) == sorted(tiny_digits["labels"])


def test_dataset_options_are_set(tiny_digits):
    options = make_dataset(cfg(tiny_digits["npz"])).options()
    assert options.autotune.enabled is False
    assert (options.experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.DATA)


def test_write_grid_png(tmp_path):
    images = np.arange(5 * 4 * 6, dtype=np.uint8).reshape(5, 4, 6, 1)
    out = write_grid_png(images, tmp_path / "g.png", scale=2)
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * 4 * 2, 3 * 6 * 2)  # 5 images -> 3 columns, 2 rows
    np.testing.assert_array_equal(grid[8:16:2, 0:12:2], images[3, ..., 0])
    assert (grid[8:, 24:] == 0).all()  # the empty sixth cell


# ---- bad input --------------------------------------------------------------------------------

def test_missing_paths_are_named(tmp_path):
    for scheme in ("idx", "folder", "npz"):
        with pytest.raises(DataError, match=f"{tmp_path / 'nope'}: no such"):
            load_source(f"{scheme}:{tmp_path / 'nope'}")


def test_unknown_scheme_lists_the_known_ones():
    with pytest.raises(DataError, match=r"'s3:bucket': unknown data source; use one of mnist, "
                                        r"idx:PATH, folder:PATH, tfds:NAME\[:SPLIT\], npz:PATH"):
        load_source("s3:bucket")


def test_idx_wrong_magic_and_truncated(tiny_digits, tmp_path):
    bad = tmp_path / "bad-images-idx3-ubyte"
    bad.write_bytes((tiny_digits["root"] / "labels-idx1-ubyte").read_bytes())
    with pytest.raises(DataError, match=rf"{bad}: not an IDX file: expected magic number "
                                        r"0x00000803, found 0x00000801"):
        load_source(f"idx:{bad}")
    good = (tiny_digits["root"] / "images-idx3-ubyte").read_bytes()
    bad.write_bytes(good[:-100])
    with pytest.raises(DataError, match=rf"{bad}: truncated .*\(256, 28, 28\) need 200704 "
                                        r"payload bytes, found 200604"):
        load_source(f"idx:{bad}")
    bad.write_bytes(gzip.compress(good)[:500])
    with pytest.raises(DataError, match=rf"{bad}: not a readable gzip file"):
        load_source(f"idx:{bad}")


def test_idx_label_count_mismatch(tiny_digits, tmp_path):
    images = write_idx(tmp_path / "images-idx3-ubyte", tiny_digits["images"][:10, ..., 0])
    labels = write_idx(tmp_path / "labels-idx1-ubyte", tiny_digits["labels"][:9])
    with pytest.raises(DataError, match=f"{labels}: 9 labels but {images} has 10 images"):
        load_source(f"idx:{images}")


def test_undecodable_image_is_named(folder):
    broken = folder / "a" / "1.png"
    broken.write_bytes(broken.read_bytes()[:40])
    with pytest.raises(DataError, match=f"{broken}: cannot decode image"):
        load_source(f"folder:{folder}")


def test_empty_sources(tmp_path):
    (tmp_path / "empty" / "class").mkdir(parents=True)
    with pytest.raises(DataError, match="empty: the dataset is empty"):
        load_source(f"folder:{tmp_path / 'empty'}")
    np.savez(tmp_path / "e.npz", x=np.zeros((0, 8, 8), np.uint8))
    with pytest.raises(DataError, match=r"e.npz: the dataset is empty \(image array shape "
                                        r"\(0, 8, 8, 1\)\)"):
        load_source(f"npz:{tmp_path / 'e.npz'}")


def test_npz_without_x_and_out_of_range(tmp_path):
    np.savez(tmp_path / "n.npz", images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"n.npz: no array named 'x' \(found \['images'\]\)"):
        load_source(f"npz:{tmp_path / 'n.npz'}")
    np.savez(tmp_path / "r.npz", x=np.full((2, 4, 4), 300.0))
    with pytest.raises(DataError, match=r"r.npz: x values span \[300.0, 300.0\]"):
        load_source(f"npz:{tmp_path / 'r.npz'}")


def test_mixed_sizes_without_resize_name_the_odd_file(folder):
    with pytest.raises(DataError, match=rf"mixed image sizes: .*0.png is 12x12x1 but "
                                        rf"{folder / 'b' / 'odd.png'} is 20x16x1"):
        make_dataset(cfg(f"folder:{folder}", resize="none", resolution=12))
    with pytest.raises(DataError, match="mixed image sizes"):
        load_arrays(f"folder:{folder}")


def test_wrong_size_without_resize(tiny_digits):
    with pytest.raises(DataError, match=rf"npz:{tiny_digits['npz']}: images are 28x28x1 .* "
                                        r"data.resolution = 32 and data.resize = 'none'"):
        make_dataset(cfg(tiny_digits["npz"], resize="none", resolution=32))


def test_fewer_examples_than_a_batch(tiny_digits):
    with pytest.raises(DataError, match="only 3 examples, fewer than one batch of "
                                        "data.batch_size = 4"):
        make_dataset(cfg(tiny_digits["npz"], limit=3))


def test_tfds_unprepared_or_unknown(tmp_path):
    with pytest.raises(DataError, match="tfds:kgan_tiny_digits in .*: not prepared there"):
        load_source("tfds:kgan_tiny_digits", data_dir=str(tmp_path))
    with pytest.raises(DataError, match="tfds:no_such_dataset_xyz .*unknown dataset"):
        load_source("tfds:no_such_dataset_xyz", data_dir=str(tmp_path))
