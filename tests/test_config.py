"""kgan.config: strict TOML validation naming the key, overrides, hashing, round-trips; the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli, run_cli
from kgan.cli import main
from kgan.config import dump_toml, from_dict, load_config
from kgan.errors import ConfigError

GOOD = """
name = "tiny"
seed = 3

[data]
source = "mnist"
batch_size = 32

[model]
name = "dcgan"
latent_dim = 16

[train]
steps = 10
d_lr = 1e-4
"""


def write(tmp_path, text, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_load_fills_defaults(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert (cfg.name, cfg.seed, cfg.data.batch_size, cfg.model.latent_dim) == ("tiny", 3, 32, 16)
    assert cfg.train.steps == 10 and cfg.train.d_lr == 1e-4 and cfg.train.g_lr == 2e-4


@pytest.mark.parametrize("section,line,message", [
    ("train", "stepz = 5", r"train.stepz: unknown key; allowed keys are \[.*'steps'"),
    ("train", 'steps = "x"', r"train.steps: expected int, got str 'x'"),
    ("train", "steps = -1", r"train.steps: -1 is below the minimum 1"),
    ("data", "channels = 2", r"data.channels: 2 is not allowed; choose from \[1, 3\]"),
    ("model", 'name = "stylegan9"', r"model.name: unknown model 'stylegan9'; choose from .*dcgan"),
])
def test_bad_values_name_the_file_and_key(tmp_path, section, line, message):
    path = write(tmp_path, f"[{section}]\n{line}\n")
    with pytest.raises(ConfigError, match=rf"{path}: {message}"):
        load_config(path)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml: config file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        load_config(write(tmp_path, "[train\nsteps = 1", "bad.toml"))


def test_replace_overrides_are_validated(tmp_path):
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.replace(**{"train.steps": 5, "data.channels": 3}).train.steps == 5
    assert cfg.train.steps == 10  # frozen: replace returns a new config
    with pytest.raises(ConfigError, match="train.steps: 0 is below the minimum 1"):
        cfg.replace(**{"train.steps": 0})
    with pytest.raises(ConfigError, match="data.sauce: unknown key"):
        cfg.replace(**{"data.sauce": "mnist"})


def test_section_hash_depends_on_content_not_key_order(tmp_path):
    a = load_config(write(tmp_path, "[data]\nbatch_size = 8\nlimit = 100\n", "a.toml"))
    b = load_config(write(tmp_path, "[data]\nlimit = 100\nbatch_size = 8\n", "b.toml"))
    assert a.section_hash("data") == b.section_hash("data")
    assert a.replace(**{"train.steps": 7}).section_hash("data") == a.section_hash("data")
    assert a.replace(**{"data.limit": 99}).section_hash("data") != a.section_hash("data")
    assert a.replace(seed=1).section_hash("data") != a.section_hash("data")


def test_dump_toml_round_trips(tmp_path):
    cfg = load_config(write(tmp_path, GOOD)).replace(**{"model.options": {"tricks": ["minibatch_stddev"], "stddev_group": 2}})
    assert load_config(write(tmp_path, dump_toml(cfg), "dumped.toml")) == cfg
    assert from_dict({}) == load_config(write(tmp_path, dump_toml(from_dict({})), "d.toml"))


def test_cli_config_show_and_keys(tmp_path, capsys):
    assert main(["config", "show", str(write(tmp_path, GOOD))]) == 0
    shown = capsys.readouterr().out
    assert 'name = "tiny"' in shown and "steps = 10" in shown and "[export]" in shown
    assert main(["config", "keys"]) == 0
    keys = capsys.readouterr().out
    assert "[train]" in keys and "\nsteps = 2000  # " in keys and "one of 1, 3" in keys


def test_cli_bad_config_exits_2_naming_the_key(tmp_path):
    path = write(tmp_path, "[train]\nstepz = 5\n")
    result = cli("config", "show", str(path))
    assert result.returncode == 2
    assert f"kgan config: error: {path}: train.stepz: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parent.parent / "pipelines").glob("*.toml")),
                         ids=lambda p: p.name)
def test_every_shipped_pipeline_config_is_valid(path):
    """A shipped config that fails validation would only be noticed when a user runs it."""
    cfg = load_config(path)
    assert cfg.name == path.stem


def test_config_keys_is_valid_toml_with_every_key_its_default_and_a_meaning():
    import dataclasses
    import tomllib
    import typing

    from kgan.config import ExperimentConfig, describe, from_dict

    text = describe()
    parsed = tomllib.loads(text)
    assert from_dict(parsed) == from_dict({})  # the defaults, as TOML
    hints = typing.get_type_hints(ExperimentConfig)
    for section in dataclasses.fields(ExperimentConfig):
        cls = hints[section.name]
        if dataclasses.is_dataclass(cls):
            assert set(parsed[section.name]) == {f.name for f in dataclasses.fields(cls)}
        else:
            assert section.name in parsed
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            assert "  # " in line, f"no meaning given: {line}"
    for option in ("tricks", "conditioning", "aux_weight", "categorical", "cont_loss"):
        assert f"#     {option} = " in text
    assert "[[train.phases]]" in text


@pytest.mark.parametrize("command", [["pipeline", "missing.toml"], ["train", "missing.toml"],
                                     ["train", "bad.toml"], ["pipeline", "bad.toml"]])
def test_bad_config_is_refused_before_tensorflow_loads(tmp_path, command):
    """Seconds, not the TensorFlow start-up: a missing or invalid config never imports it."""
    (tmp_path / "bad.toml").write_text('name = "x"\n[model]\nname = "dcgan"\noptions = {tricks = ["nope"]}\n')
    code = ("import sys, kgan.cli\n"
            f"rc = kgan.cli.main({command!r})\n"
            "print(rc, 'tensorflow' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["2", "False"], proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and command[1] in proc.stderr


def test_pipeline_with_a_missing_source_says_one_line(tmp_path):
    """The source is checked after TensorFlow's quiet start: no start-up notices around the one error line."""
    (tmp_path / "x.toml").write_text(f'name = "x"\n[data]\nsource = "npz:{tmp_path / "none.npz"}"\n')
    r = run_cli("pipeline", "x.toml", "--root", str(tmp_path / "out"), cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "none.npz does not exist" in r.stderr and not (tmp_path / "out").exists()
