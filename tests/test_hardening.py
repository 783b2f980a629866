"""Bad input gets one clear line and exit 2, never a silent wrong result (the "Hardening" issue).

One section per issue item; each test failed on the code before the fix.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO
from kgan.cli import main
from kgan.config import DataConfig, from_dict, load_config
from kgan.data import check_labels_fit, label_summary, load_arrays
from kgan.errors import ConfigError, DataError, ExportError, OutputError
from kgan.io import atomic_path, check_writable_dir, clean_stale_temporaries


def npz(path, y=None, n=6):
    x = np.zeros((n, 4, 4), np.uint8)
    np.savez(path, **({"x": x} if y is None else {"x": x, "y": np.asarray(y)}))
    return path


def run_main(argv, capsys):
    """(exit status, stdout, stderr) of the CLI run in-process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code, err, *needles):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert all(n in lines[0] for n in needles), (lines[0], needles)


# ---- 1. labels are checked when a source is loaded ---------------------------------------------

@pytest.mark.parametrize("labels,index,shown", [
    ([0, 1, np.nan, 2, 3, 4], 2, "nan"),               # was cast to -2**63 (or 0)
    ([0, 1, 2, 2**40 + 7, 3, 4], 3, str(2**40 + 7)),    # wrapped to 7 as int32 in every batch
    ([0, 1.5, 2, 3, 4, 5], 1, "1.5"),                  # was truncated to 1
    ([0, 1, 2, 3, -3, 4], 4, "-3"),
    (np.array([0, 1, 2, 3, 4, 2**63 + 1], np.uint64), 5, str(2**63 + 1)),
])
def test_bad_npz_labels_name_the_file_and_first_index(tmp_path, labels, index, shown):
    path = npz(tmp_path / "d.npz", labels)
    with pytest.raises(DataError, match=rf"{path} \(y\): label {shown}(\.0)? at index {index} is not an "
                                        rf"integer in 0\.\.2147483647"):
        load_arrays(f"npz:{path}")


def test_integral_float_labels_and_the_unlabelled_marker_are_accepted(tmp_path):
    assert list(load_arrays(f"npz:{npz(tmp_path / 'f.npz', [0., 1., 2., 0., 1., 2.])}")[1]) == [0, 1, 2, 0, 1, 2]
    assert list(load_arrays(f"npz:{npz(tmp_path / 'u.npz', [-1] * 6)}")[1]) == [-1] * 6


@pytest.mark.parametrize("y,message", [
    (np.zeros((3, 2)), r"labels shaped \(3, 2\); expected one label per example"),  # reshaped to 6 before
    (np.array(["a"] * 6), r"labels have dtype <U1; expected integers"),
])
def test_npz_labels_of_the_wrong_shape_or_dtype(tmp_path, y, message):
    with pytest.raises(DataError, match=message):
        load_arrays(f"npz:{npz(tmp_path / 'd.npz', y)}")


def test_inspect_never_prints_a_cast_nan(tmp_path, capsys):
    path = npz(tmp_path / "nan.npz", [0, np.nan, 1, 1, 0, 0])
    code, out, err = run_main(["data", "inspect", f"npz:{path}", "--grid", tmp_path / "g.png"], capsys)
    assert_one_line_error(code, err, f"{path} (y): label nan at index 1")
    assert "-9223372036854775808" not in out and not (tmp_path / "g.png").exists()


# ---- 4. experiment names are one path component -----------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/tmp/abs", "a/b", "..", ".hidden", "-x", "a..b", "ok\n", "x" * 129])
def test_names_that_would_escape_the_output_root_are_rejected(tmp_path, name):
    with pytest.raises(ConfigError, match=r"^name: .* is not a valid name; expected one path component"):
        from_dict({"name": name})
    with pytest.raises(ConfigError, match=r"^export\.name: "):
        from_dict({"export": {"name": name}})
    path = tmp_path / "exp.toml"
    path.write_text(f"name = {json.dumps(name)}\n")
    with pytest.raises(ConfigError, match=rf"{path}: name: "):
        load_config(path)


def test_overrides_and_export_share_the_name_rule():
    from kgan.export.versions import check_name

    cfg = from_dict({"name": "mnist_dcgan-v1.2"})
    with pytest.raises(ConfigError, match="name: '../x' is not a valid name"):
        cfg.replace(name="../x")
    assert check_name("mnist_dcgan-v1.2") == "mnist_dcgan-v1.2"
    for bad in ("a..b", "ok\n", "x" * 129):  # `$` let a trailing newline through before
        with pytest.raises(ExportError):
            check_name(bad)


# ---- 5. Adam betas in [0, 1); finite numbers; a seed numpy accepts -----------------------------

@pytest.mark.parametrize("key,value,message", [
    ("train.beta1", 1.0, r"train\.beta1: 1\.0 is not below 1; expected \[0, 1\)"),
    ("train.beta2", 1, r"train\.beta2: 1\.0 is not below 1; expected \[0, 1\)"),
    ("train.g_lr", float("nan"), r"train\.g_lr: nan is not finite"),
    ("train.gradient_penalty", float("inf"), r"train\.gradient_penalty: inf is not finite"),
    ("seed", 2**32, r"seed: 4294967296 is above the maximum 4294967295"),
])
def test_out_of_range_numbers_name_the_key(key, value, message):
    section, _, leaf = key.rpartition(".")
    with pytest.raises(ConfigError, match=message):
        from_dict({section: {leaf: value}} if section else {leaf: value})


def test_betas_just_below_one_are_fine():
    assert from_dict({"train": {"beta1": 0.0, "beta2": 0.9999}}).train.beta2 == 0.9999


# ---- 6. labels must fit a conditional model before training starts -----------------------------

def experiment(source, num_classes, **data):
    return from_dict({"data": {"source": source, **data}, "model": {"num_classes": num_classes}})


def test_label_summary_reads_labels_only(tmp_path, tiny_digits):
    assert label_summary(DataConfig(source=f"npz:{npz(tmp_path / 'u.npz')}")) == (False, None, None)
    assert label_summary(DataConfig(source=f"npz:{tiny_digits['npz']}", limit=3)) == \
        (True, int(tiny_digits["labels"][:3].min()), int(tiny_digits["labels"][:3].max()))
    assert label_summary(DataConfig(source=f"idx:{tiny_digits['root']}")) == (True, 0, 9)
    for label in ("a", "b"):  # unreadable images: the folder layout alone gives the labels
        (tmp_path / "f" / label).mkdir(parents=True)
        (tmp_path / "f" / label / "0.png").write_bytes(b"not decoded")
    assert label_summary(DataConfig(source=f"folder:{tmp_path / 'f'}")) == (True, 0, 1)


@pytest.mark.parametrize("labels,num_classes,message", [
    (None, 10, "has no labels; use labelled data or set model.num_classes = 0"),
    ([0, 1, -1, 2, 3, 4], 10, r"has unlabelled examples \(label -1\)"),
    ([0, 1, 162, 2, 3, 4], 10, "has labels up to 162; set model.num_classes to at least 163"),
])
def test_labels_that_do_not_fit_the_model(tmp_path, labels, num_classes, message):
    path = npz(tmp_path / "d.npz", labels)
    with pytest.raises(ConfigError, match=rf"model\.num_classes = {num_classes} \(a conditional model\) but "
                                          rf"data\.source = 'npz:{path}' {message}"):
        check_labels_fit(experiment(f"npz:{path}", num_classes))


def test_labels_that_fit(tmp_path):
    path = npz(tmp_path / "d.npz", [0, 1, 2, 9, 162, 4])
    check_labels_fit(experiment(f"npz:{path}", 10, limit=4))  # training uses only the first 4
    check_labels_fit(experiment(f"npz:{npz(tmp_path / 'u.npz')}", 0))  # unconditional: no labels needed


def test_train_stops_before_training_when_labels_do_not_fit(tmp_path, capsys):
    path = npz(tmp_path / "d.npz", [0, 1, 162, 2, 3, 4])
    config = tmp_path / "exp.toml"
    config.write_text(f'name = "c"\n[data]\nsource = "npz:{path}"\nbatch_size = 2\n'
                      f'[model]\nname = "cgan"\nnum_classes = 10\n')
    code, _, err = run_main(["train", config, "--out", tmp_path / "run", "--steps", 1], capsys)
    assert_one_line_error(code, err, "kgan train: error: model.num_classes = 10", "labels up to 162")
    assert not (tmp_path / "run").exists()


# ---- 7. one-line errors for files that are not what they claim ----------------------------------

def test_npz_source_pointing_at_a_npy(tmp_path, capsys):
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((4, 4, 4), np.uint8))
    code, _, err = run_main(["data", "inspect", f"npz:{path}"], capsys)
    assert_one_line_error(code, err, f"{path}: not an .npz archive (it is a single .npy array)")
    (tmp_path / "empty.npz").write_bytes(b"")
    code, _, err = run_main(["data", "inspect", f"npz:{tmp_path / 'empty.npz'}"], capsys)
    assert_one_line_error(code, err, "empty.npz: not an .npz archive")


@pytest.mark.parametrize("content,message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file (contains NUL bytes)"),
    (b'name = "caf\xe9"\n', "not UTF-8 text (byte 0xe9 at offset 11)"),
    (b"", "config file is empty (no keys)"),
    (b"# only a comment\n\n", "config file is empty (no keys)"),
])
def test_config_files_that_are_not_toml_text(tmp_path, capsys, content, message):
    path = tmp_path / "exp.toml"
    path.write_bytes(content)
    code, out, err = run_main(["config", "show", path], capsys)
    assert_one_line_error(code, err, f"kgan config: error: {path}: {message}")
    assert out == ""


def test_config_path_that_is_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="is a directory; expected a TOML config file"):
        load_config(tmp_path)


def test_unwritable_output_directory_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match=rf"--out {blocker}/run: not a directory \({blocker} is a file\)"):
        check_writable_dir(blocker / "run", "--out")
    with pytest.raises(OutputError, match=r"--out /sys/kgan-run: not writable \(/sys: "):
        check_writable_dir("/sys/kgan-run", "--out")  # sysfs takes no new files, not even root's
    readonly = tmp_path / "ro"
    readonly.mkdir()
    readonly.chmod(0o555)
    try:
        if not os.access(readonly, os.W_OK):  # chmod binds (not root)
            with pytest.raises(OutputError, match="not writable"):
                check_writable_dir(readonly / "run", "--out")
    finally:
        readonly.chmod(0o755)
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(OutputError, match=rf"--out {tmp_path}/link/run: {tmp_path}/link is a dangling symbolic link"):
        check_writable_dir(tmp_path / "link" / "run", "--out")
    check_writable_dir(tmp_path / "new" / "run", "--out")
    assert sorted(os.listdir(tmp_path)) == ["file", "link", "ro"]  # nothing created, the probe is gone

    config = tmp_path / "exp.toml"
    config.write_text('name = "t"\n[data]\nsource = "mnist"\n')
    code, _, err = run_main(["train", config, "--out", "/sys/kgan-run"], capsys)
    assert_one_line_error(code, err, "kgan train: error: --out /sys/kgan-run: not writable")


# ---- 10. temporaries of killed atomic writes are recognised and removed -------------------------

def killed_atomic_write(target: Path, directory: bool):
    """Die abruptly (os._exit: no cleanup runs) inside atomic_path, as a killed run would."""
    write = "(tmp / 'part').write_text('half')" if directory else "tmp.write_text('half')"
    code = (f"import os; from kgan.io import atomic_path\n"
            f"with atomic_path({str(target)!r}, directory={directory}) as tmp:\n"
            f"    {write}\n"
            f"    os._exit(9)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 9


def test_clean_stale_temporaries(tmp_path):
    run = tmp_path / "run"
    killed_atomic_write(run / "model.keras", directory=False)
    killed_atomic_write(run / "gallery", directory=True)
    ckpt = run / "checkpoints"
    ckpt.mkdir()
    (ckpt / f"checkpoint.tmp{uuid.uuid4().hex}").write_text("half")  # TF's atomic_write_string_to_file
    (ckpt / "ckpt-3_temp").mkdir()  # TF's sharded save before the merge
    (ckpt / "ckpt-3_temp" / "part-00000-of-00001.index").write_text("half")
    kept = [ckpt / "checkpoint", ckpt / "ckpt-2.index", ckpt / "ckpt-2.data-00000-of-00001", run / "config.toml",
            run / "model.keras", run / "notes.tmp-draft.txt", run / "my_temp"]
    for path in kept:
        path.write_text("keep")
    with atomic_path(run / "history.csv") as tmp:
        tmp.write_text("done")  # a completed write leaves nothing to clean
    kept.append(run / "history.csv")

    stale = sorted(set(run.rglob("*")) - set(kept) - {ckpt})
    removed = clean_stale_temporaries(run)
    assert len(removed) == 4 and removed == [p for p in stale if p.parent in (run, ckpt)]  # dirs go whole
    assert sorted(run.rglob("*")) == sorted(kept + [ckpt])
    assert clean_stale_temporaries(run) == []
    assert clean_stale_temporaries(tmp_path / "no-such-run") == []
