"""The `kgan` command line as a whole: argument checking, help text, and the commands run for real."""

import argparse
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import cli, run_cli
from kgan.cli import build_parser, main


def all_parsers(parser=None):
    """(prog, parser) for `kgan` and every subcommand, nested ones included."""
    parser = parser or build_parser()
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from all_parsers(sub)


def test_every_argument_of_every_command_has_help_text():
    missing = [f"{prog} {action.option_strings or action.dest}" for prog, parser in all_parsers()
               for action in parser._actions
               if not isinstance(action, argparse._SubParsersAction) and not action.help]
    assert missing == []


def test_help_shows_real_defaults_only():
    text = build_parser()._subparsers._group_actions[0].choices["sample"].format_help()
    assert "(default: 64)" in text and "(default: 0)" in text  # --n, --seed
    assert "default: None" not in text and "default: False" not in text
    assert "Draw the model's inputs" in text  # sample has a description


@pytest.mark.parametrize("args,flag,value", [
    (["sample", "run", "--n", "0"], "--n", "0"),
    (["sample", "run", "--n", "-5"], "--n", "-5"),
    (["sample", "run", "--scale", "0"], "--scale", "0"),
    (["sample", "run", "--seed", "-1"], "--seed", "-1"),
    (["sample", "run", "--n", "many"], "--n", "many"),
    (["evaluate", "--samples", "npz:x", "--data", "mnist", "--features", "f", "--batch-size", "0"],
     "--batch-size", "0"),
    (["gallery", "run", "--out", "g", "--seed", "2147483648"], "--seed", "2147483648"),
    (["export", "run", "--warmup-requests", "101"], "--warmup-requests", "101"),
    (["train", "c.toml", "--steps", "0"], "--steps", "0"),
    (["pipeline", "c.toml", "--workers", "0"], "--workers", "0"),
    (["launch", "c.toml", "--out", "r", "--timeout", "-1"], "--timeout", "-1"),
    (["data", "inspect", "mnist", "--n", "0"], "--n", "0"),
])
def test_out_of_range_values_are_refused_in_one_line(tmp_path, capsys, monkeypatch, args, flag, value):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"error: argument {flag}: expected " in err and repr(value) in err, err
    assert err.startswith(f"kgan {args[0]}")
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_argparse_errors_are_one_line_with_status_2_in_a_real_process(tmp_path):
    cases = (["sample", "run", "--n", "0"], ["sample"], ["no-such-command"], ["data", "inspect"],
             ["sample", "run", "--bogus"])
    with ThreadPoolExecutor(len(cases)) as pool:  # the processes start at once: each pays the Python start-up
        procs = list(pool.map(lambda args: run_cli(*args, cwd=tmp_path), cases))
    for args, proc in zip(cases, procs):
        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stderr.count("\n") == 1 and ": error: " in proc.stderr, (args, proc.stderr)
        assert "Traceback" not in proc.stderr and "usage:" not in proc.stderr


# ----------------------------------------------------------------------------------------------- a tiny real run

@pytest.fixture(scope="module")
def tiny_run(tiny_digits, tmp_path_factory):
    """A 4-step DCGAN trained by `kgan train` on 64 digits, and its export saved_models/tiny/1."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "tiny.toml").write_text(f"""name = "tiny"
[data]
source = "npz:{tiny_digits['npz']}"
limit = 64
batch_size = 16
[model]
name = "dcgan"
width = 8
latent_dim = 8
[train]
steps = 4
checkpoint_every = 2
snapshot_every = 4
log_every = 2
[export]
warmup_requests = 0
""")
    proc = cli("train", "tiny.toml", "--out", "run", cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = cli("export", "run", "--base", "saved_models", cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return tmp


def test_sample_is_one_stream_per_seed_in_chunks(tiny_run, tmp_path, monkeypatch, capsys):
    import numpy as np
    from PIL import Image

    from kgan.sampling import CHUNK

    monkeypatch.chdir(tmp_path)
    run = str(tiny_run / "run")
    assert main(["sample", run, "--n", str(CHUNK + 44), "--seed", "3", "--out", "long.npy"]) == 0
    assert main(["sample", run, "--n", "5", "--seed", "3", "--out", "short.npz"]) == 0
    assert main(["sample", f"{run}/checkpoints/ckpt-4", "--n", "5", "--seed", "3", "--out", "grid.png",
                 "--scale", "1"]) == 0
    assert main(["sample", str(tiny_run / "saved_models" / "tiny"), "--n", "5", "--out", "export.npy"]) == 0
    long, short = np.load("long.npy"), np.load("short.npz")["x"]
    assert long.shape == (CHUNK + 44, 28, 28, 1) and long.dtype == np.uint8
    np.testing.assert_array_equal(long[:5], short)  # the first m images do not depend on n
    assert not np.array_equal(long[:44], long[CHUNK:])  # the second chunk has a seed of its own
    with Image.open("grid.png") as grid:  # the same run at its latest checkpoint, as one grid
        np.testing.assert_array_equal(np.asarray(grid)[:28, :28 * 3], np.hstack(list(short[:3, ..., 0])))
    assert np.load("export.npy").shape == (5, 28, 28, 1)
    assert "wrote export.npy (5 samples)" in capsys.readouterr().out


def test_sample_refuses_a_huge_grid_and_unknown_suffixes_before_loading(tmp_path, capsys, monkeypatch):
    from kgan.commands.sample import MAX_GRID

    monkeypatch.chdir(tmp_path)
    assert main(["sample", "no-such-run", "--n", str(MAX_GRID + 1), "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--n {MAX_GRID + 1}: a .png grid holds at most {MAX_GRID}" in err
    assert "x.npy or .npz" in err
    assert main(["sample", "no-such-run", "--out", "x.jpg"]) == 2
    assert "--out x.jpg: expected a file name ending in .png, .npy, .npz" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_array_writer_streams_chunks_and_writes_nothing_when_cut_short(tmp_path, suffix):
    import numpy as np

    from kgan.data import load_arrays
    from kgan.npystream import array_writer

    rows = np.arange(7 * 4 * 4 * 1, dtype=np.uint8).reshape(7, 4, 4, 1)
    target = tmp_path / f"a{suffix}"
    with array_writer(target, 7) as write:
        for start in range(0, 7, 3):
            write(rows[start:start + 3])
    loaded = np.load(target)
    np.testing.assert_array_equal(loaded["x"] if suffix == ".npz" else loaded, rows)
    if suffix == ".npz":
        np.testing.assert_array_equal(load_arrays(f"npz:{target}")[0], rows)  # usable as --samples npz:PATH
    before = target.read_bytes()
    with pytest.raises(ValueError, match="got 3 of the announced 7 rows"):
        with array_writer(target, 7) as write:
            write(rows[:3])
    assert target.read_bytes() == before and sorted(tmp_path.iterdir()) == [target]  # no temporary left


def test_export_refresh_config_lists_the_versions_on_disk(tiny_run, tmp_path, capsys):
    import shutil

    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    base = tmp_path / "sm"
    shutil.copytree(tiny_run / "saved_models", base)
    shutil.copytree(base / "tiny", base / "second")  # as if an export was killed before writing the config
    (base / ".kgan-export-tmp-x").mkdir()  # neither a hidden scratch directory
    (base / "empty").mkdir()  # nor a model directory without versions is served
    (base / "models.config").write_text("model_config_list { garbage")
    assert main(["export", "--refresh-config", "--base", str(base), "--serving-base", "/models"]) == 0
    assert "2 model(s): second, tiny" in capsys.readouterr().out
    config = text_format.Parse((base / "models.config").read_text(), model_server_config_pb2.ModelServerConfig())
    assert {(c.name, c.base_path) for c in config.model_config_list.config} == {
        ("second", "/models/second"), ("tiny", "/models/tiny")}
    (base / "models.config").unlink()
    assert main(["export", "--refresh-config", "--base", str(base)]) == 0
    assert (base / "models.config").read_text().count("config {") == 2

    assert main(["export", "--base", str(base)]) == 2
    assert "RUN_OR_CHECKPOINT: required (or --refresh-config" in capsys.readouterr().err
    assert main(["export", "--refresh-config", "--base", str(tmp_path / "none")]) == 2
    assert f"--base {tmp_path / 'none'}: no such directory" in capsys.readouterr().err


def test_classifier_command_then_evaluate_with_the_cached_classifier(tiny_run, tiny_digits, tmp_path, capsys,
                                                                     monkeypatch):
    import json

    monkeypatch.chdir(tmp_path)
    data = f"npz:{tiny_digits['npz']}"
    evaluate = ["--data", data, "--features", "classifier", "--root", "runs", "--classifier-epochs", "1",
                "--n", "16", "--batch-size", "8", "--metrics", "fid,pr", "--quiet"]
    assert main(["evaluate", str(tiny_run / "run"), *evaluate]) == 2  # not trained yet: says how to
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"train it with: kgan classifier {data} --root runs --epochs 1" in err

    assert main(["classifier", data, "--root", "runs", "--epochs", "1"]) == 0
    path = next((tmp_path / "runs" / "classifiers").glob("*/classifier.keras"))
    assert str(path.resolve()) in capsys.readouterr().out
    mtime = path.stat().st_mtime_ns
    assert main(["classifier", data, "--root", "runs", "--epochs", "1"]) == 0  # cached: a no-op
    assert "already trained" in capsys.readouterr().out and path.stat().st_mtime_ns == mtime

    assert main(["evaluate", str(tiny_run / "run"), *evaluate, "--out", "run.json"]) == 0
    report = json.loads((tmp_path / "run.json").read_text())
    assert report["command"]["features"] == f"classifier:{path.resolve()}"
    assert report["num_samples"] == 16 and "fid" in report["metrics"]
    assert main(["evaluate", "--model", str(tiny_run / "saved_models" / "tiny"), "--version", "1", *evaluate]) == 0
    assert main(["evaluate", str(tiny_run / "run"), "--samples", data, *evaluate]) == 2
    assert "not allowed with argument" in capsys.readouterr().err

    # a second classifier with another seed (a perceptual loss's): its own file, found by --classifier-seed
    assert main(["evaluate", str(tiny_run / "run"), *evaluate, "--classifier-seed", "1"]) == 2
    assert f"kgan classifier {data} --root runs --epochs 1 --seed 1" in capsys.readouterr().err
    assert main(["classifier", data, "--root", "runs", "--epochs", "1", "--seed", "1"]) == 0
    second = [p for p in (tmp_path / "runs" / "classifiers").glob("*/classifier.keras") if p != path]
    assert len(second) == 1 and str(second[0].resolve()) in capsys.readouterr().out
    assert main(["evaluate", str(tiny_run / "run"), *evaluate, "--classifier-seed", "1", "--out", "seed1.json"]) == 0
    assert json.loads((tmp_path / "seed1.json").read_text())["command"]["features"] == f"classifier:{second[0].resolve()}"
