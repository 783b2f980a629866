"""The `kgan data inspect`, `kgan models` and `kgan --help` commands through the CLI entry point (in this process)."""

import numpy as np
import pytest
from PIL import Image

from conftest import cli, write_idx
from kgan.cli import main


def test_help_lists_the_commands():
    result = cli("--help")
    assert result.returncode == 0
    assert all(c in result.stdout for c in ("data", "models", "config"))


def test_models_lists_the_registry():
    result = cli("models")
    assert result.returncode == 0
    assert any(line.split()[:1] == ["dcgan"] for line in result.stdout.splitlines())


def test_inspect_vendored_mnist_writes_nothing_without_grid(tmp_path):
    result = cli("data", "inspect", "mnist", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "mnist: 10000 images of 28x28x1 (uint8), 10 classes" in result.stdout
    assert "     1: 1135" in result.stdout
    assert list(tmp_path.iterdir()) == []  # used to leave ./inspect_mnist.png behind


def test_inspect_writes_the_grid_asked_for(tmp_path):
    result = cli("data", "inspect", "mnist", "--n", "16", "--grid", "g.png", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    grid = Image.open(tmp_path / "g.png")
    assert grid.format == "PNG" and grid.size == (4 * 28, 4 * 28) and grid.mode == "L"


def test_inspect_folder(tmp_path):
    for label, n in (("cat", 2), ("dog", 3)):
        (tmp_path / "pets" / label).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (10, 8), (40 * i, 0, 0)).save(tmp_path / "pets" / label / f"{i}.png")
    out = tmp_path / "grid.png"
    result = cli("data", "inspect", f"folder:{tmp_path / 'pets'}", "--grid", str(out))
    assert result.returncode == 0, result.stderr
    assert "5 images of 8x10x3 (uint8), 2 classes" in result.stdout
    assert Image.open(out).size == (3 * 10, 2 * 8)


def bad_inputs(tmp_path):
    """(source, text stderr must contain) for each kind of bad input."""
    broken = tmp_path / "imgs" / "x" / "broken.png"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"not a png")
    truncated = write_idx(tmp_path / "t-images-idx3-ubyte", np.zeros((3, 4, 4), np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:-5])
    return [(f"folder:{tmp_path / 'missing'}", f"{tmp_path / 'missing'}: no such directory"),
            ("ftp:data", "unknown data source; use one of mnist"),
            (f"folder:{tmp_path / 'imgs'}", f"{broken}: cannot decode image"),
            (f"idx:{truncated}", f"{truncated}: truncated or corrupt IDX file")]


@pytest.mark.parametrize("case", range(4))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    source, message = bad_inputs(tmp_path)[case]
    result = cli("data", "inspect", source, cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("kgan data: error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.stderr
    assert not list(tmp_path.glob("inspect_*.png"))


@pytest.mark.parametrize("options,message", [
    (["--n", "0"], "argument --n: expected an integer >= 1, got '0'"),  # was a ValueError traceback
    (["--grid", "/sys/kgan/g.png"], "--grid's folder /sys/kgan: not writable (/sys: "),  # was a PermissionError
    (["--grid", "."], "--grid .: is a directory; expected the path of a .png file"),
])
def test_bad_inspect_options_exit_2_before_reading(tmp_path, capsys, monkeypatch, options, message):
    monkeypatch.chdir(tmp_path)
    assert main(["data", "inspect", f"folder:{tmp_path / 'missing'}", *options]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kgan data") and f": error: {message}" in err and err.count("\n") == 1  # never read
