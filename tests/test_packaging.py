"""The built wheel works outside the source tree: package data (pipeline configs, luigi.cfg, the vendored
MNIST) ships, no top-level `tasks` module is installed, and `kgan pipeline` runs a shipped config by name
from an empty directory.

The wheel goes into a fresh virtual environment whose only other path is the test environment's
site-packages (for TensorFlow and the other dependencies: nothing is downloaded); the source tree is
never on its path.
"""

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the source tree, so the build leaves nothing (build/, *.egg-info) in the repo."""
    source = tmp_path_factory.mktemp("source") / "kgan"
    shutil.copytree(REPO, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "runs", "saved_models", "__pycache__", "artifacts"))
    dist = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(dist), str(source)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (path,) = dist.glob("kgan-*.whl")
    return path


def test_the_wheel_ships_configs_luigi_settings_and_data_but_no_top_level_tasks(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "kgan/luigi.cfg" in names and "kgan/pipelines/mnist_dcgan.toml" in names
    assert "kgan/pipelines/tiny.toml" in names and "kgan/tasks.py" in names
    assert {"kgan/data/mnist/t10k-images-idx3-ubyte.gz", "kgan/data/mnist/t10k-labels-idx1-ubyte.gz"} <= set(names)
    assert not [n for n in names if n in ("tasks.py",) or n.startswith("tests/")]


def test_installed_wheel_runs_a_shipped_pipeline_from_an_empty_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    zipfile.ZipFile(wheel).extractall(site)  # a pure-Python wheel installs by unpacking into site-packages
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp_path / "work"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # a source tree there would shadow the wheel
    where = subprocess.run([str(python), "-c", "import kgan; print(kgan.__file__)"], cwd=empty,
                           capture_output=True, text=True, check=True, env=env).stdout.strip()
    assert where.startswith(str(site)), where  # the wheel's kgan, not the source tree's
    r = subprocess.run([str(python), "-m", "kgan", "pipeline", "tiny", "--root", "out"], cwd=empty,
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "kgan pipeline finished" in r.stdout
    assert sorted(p.name for p in empty.iterdir()) == ["out"]  # every output under --root
    saved = [l.split()[-1] for l in r.stdout.splitlines() if l.strip().startswith("saved_model")][0]
    assert saved == str((empty / "out" / "saved_models" / "tiny" / "1").resolve())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = subprocess.run([str(python), "-m", "kgan", "pipeline", "tiny", "--root", str(empty / "out")],
                           cwd=elsewhere, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "[pipeline] Pipeline up to date" in again.stderr and saved in again.stdout
    assert list(elsewhere.iterdir()) == []
