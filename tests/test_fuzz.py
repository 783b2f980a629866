"""Fuzz: seeded random corruptions of IDX, PNG-folder, npz and TOML inputs through the real CLI.

Every case must end with exit 0 and a valid result, or exit 2 and one error line without a
traceback. Most cases run `kgan.cli.main` in-process (fast); a few run `python -m kgan` for real.
A failure names the case, so it can be replayed from the seed.
"""

import contextlib
import io
import random
import re
import tomllib
import traceback

import numpy as np
import pytest
from PIL import Image

from conftest import run_cli, write_idx
from kgan.cli import main
from kgan.config import from_dict, load_config

SEED = 20261201
CASES_PER_KIND = 50
GOOD_TOML = """name = "fuzz"
seed = 3

[data]
source = "mnist"
batch_size = 32

[model]
name = "dcgan"
latent_dim = 16
num_classes = 0

[train]
steps = 10
d_lr = 1e-4
beta1 = 0.5

[eval]
metrics = ["fid", "kid"]
"""
ODD_VALUES = [0, -1, 1, 2**31, 2**63 - 1, -2**63, 1.0, 0.5, -0.0, float("nan"), float("inf"), True, "",
              "../../x", "/abs", "a\nb", "\x00", "é", [], [1, "a"], {}, {"k": 1}]


# ---- corruptions ------------------------------------------------------------------------------

def corrupt_bytes(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """(what was done, corrupted bytes): truncation, byte flips, an insertion or a zeroed range."""
    kind = rng.choice(["truncate", "flip", "insert", "zero"])
    n = len(data)
    if kind == "truncate":
        cut = rng.randrange(n + 1)
        return f"truncate to {cut}", data[:cut]
    out = bytearray(data)
    if kind == "flip":
        spots = [rng.randrange(n) for _ in range(rng.randint(1, 8))]
        for i in spots:
            out[i] ^= 1 << rng.randrange(8)
        return f"flip bits at {spots}", bytes(out)
    at = rng.randrange(n + 1)
    if kind == "insert":
        junk = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        return f"insert {junk!r} at {at}", bytes(out[:at] + junk + out[at:])
    end = min(n, at + rng.randint(1, 64))
    out[at:end] = bytes(end - at)
    return f"zero [{at}, {end})", bytes(out)


def npz_arrays(rng: random.Random) -> tuple[str, dict]:
    """Wrong dtypes, NaN/huge/fractional labels, wrong shapes: a random mix for x and y."""
    n = rng.choice([0, 1, 5, 5, 5])
    x = {
        "ok": np.zeros((n, 4, 4), np.uint8),
        "float01": np.full((n, 4, 4, 1), 0.5, np.float32),
        "nan": np.full((n, 4, 4), np.nan),
        "huge": np.full((n, 4, 4), 2**40, np.int64),
        "negative": np.full((n, 4, 4), -1, np.int16),
        "complex": np.zeros((n, 4, 4), np.complex64),
        "bool": np.zeros((n, 4, 4), bool),
        "strings": np.array([["a"]] * max(n, 1)),
        "channels2": np.zeros((n, 4, 4, 2), np.uint8),
        "flat": np.zeros((n,), np.uint8),
        "5d": np.zeros((n, 2, 4, 4, 1), np.uint8),
        "scalar": np.array(3, np.uint8),
    }
    y = {
        "none": None,
        "ok": np.arange(n) % 3,
        "float-integral": (np.arange(n) % 3).astype(np.float64),
        "nan": np.full(n, np.nan),
        "inf": np.full(n, np.inf),
        "huge": np.full(n, 2**40 + 7, np.int64),
        "uint64": np.full(n, 2**64 - 1, np.uint64),
        "fraction": np.full(n, 1.5),
        "negative": np.full(n, -5, np.int8),
        "unlabelled": np.full(n, -1),
        "column": (np.arange(n) % 3)[:, None],
        "matrix": np.zeros((n, 2), np.int64),
        "short": np.zeros(max(n - 1, 0), np.int64),
        "strings": np.array(["cat"] * n),
    }
    odd = rng.choice(["x", "y", "both"])  # mostly one odd array, so the other's checks are reached
    kx = rng.choice(sorted(x)) if odd != "y" else "ok"
    ky = rng.choice(sorted(y)) if odd != "x" else "ok"
    arrays = {"x": x[kx]} if ky == "none" else {"x": x[kx], "y": y[ky]}
    if rng.random() < 0.1:
        arrays = {"images": arrays.pop("x"), **arrays}  # no x at all
    return f"x={kx} y={ky} n={n}", arrays


def toml_values(rng: random.Random) -> tuple[str, str]:
    """GOOD_TOML with one key set to an odd value (TOML where the value has a TOML spelling)."""
    raw = tomllib.loads(GOOD_TOML)
    section = rng.choice(["", "data", "model", "train", "eval", "export"])
    keys = {"": ["name", "seed"], "data": ["source", "batch_size", "resolution", "channels", "limit"],
            "model": ["name", "latent_dim", "num_classes", "options"],
            "train": ["steps", "beta1", "beta2", "g_lr", "ema", "update", "gradient_penalty"],
            "eval": ["metrics", "num_samples"], "export": ["name", "warmup_requests"]}[section]
    key, value = rng.choice(keys + ["nonsense"]), rng.choice(ODD_VALUES)
    (raw.setdefault(section, {}) if section else raw)[key] = value
    return f"{section or '<top>'}.{key} = {value!r}", dump(raw)


def dump(raw: dict) -> str:
    """Minimal TOML writer for the fuzz (tomllib has no writer), including nan/inf and odd strings."""
    def scalar(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return "nan" if v != v else ("inf" if v == float("inf") else repr(v))
        if isinstance(v, int):
            return str(v)
        if isinstance(v, str):
            return '"' + "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in v) + '"'
        if isinstance(v, list):
            return "[" + ", ".join(map(scalar, v)) + "]"
        return "{" + ", ".join(f"{k} = {scalar(x)}" for k, x in v.items()) + "}"

    lines = [f"{k} = {scalar(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for section, table in raw.items():
        if isinstance(table, dict):
            lines += [f"[{section}]"] + [f"{k} = {scalar(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# ---- the inputs, written fresh per case -------------------------------------------------------

def idx_case(rng, root):
    write_idx(root / "d-images-idx3-ubyte", np.arange(8 * 6 * 6).reshape(8, 6, 6) % 256,
              gz=rng.random() < 0.3)
    write_idx(root / "d-labels-idx1-ubyte", np.arange(8) % 4)
    victim = root / rng.choice(["d-images-idx3-ubyte", "d-labels-idx1-ubyte"])
    what, data = corrupt_bytes(rng, victim.read_bytes())
    victim.write_bytes(data)
    return f"idx {victim.name}: {what}", ["data", "inspect", f"idx:{root / 'd-images-idx3-ubyte'}"]


def folder_case(rng, root):
    files = []
    for label in ("a", "b"):
        for i in range(2):
            path = root / "f" / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((5, 7, rng.choice([1, 3])), 40 * i, np.uint8).squeeze()).save(path)
            files.append(path)
    victim = rng.choice(files)
    if rng.random() < 0.5:
        what, data = corrupt_bytes(rng, victim.read_bytes())
        victim.write_bytes(data)
    else:
        what = rng.choice(sorted(ODD_IMAGES))
        ODD_IMAGES[what].save(victim, format="GIF" if what == "gif" else "JPEG" if what == "jpeg" else "PNG")
    return f"folder {victim.relative_to(root)}: {what}", ["data", "inspect", f"folder:{root / 'f'}"]


ODD_IMAGES = {  # valid files a folder may hold, in modes and sizes unlike the rest ("wrong shapes")
    "rgba": Image.new("RGBA", (7, 5), (1, 2, 3, 4)),
    "gray+alpha": Image.new("LA", (7, 5), (9, 200)),
    "16-bit": Image.new("I;16", (7, 5), 40000),
    "palette": Image.new("P", (7, 5), 3),
    "1-bit": Image.new("1", (7, 5), 1),
    "tall": Image.new("L", (1, 300), 7),
    "gif": Image.new("L", (7, 5), 7),
    "jpeg": Image.new("RGB", (7, 5), (5, 6, 7)),
}


def npz_case(rng, root):
    what, arrays = npz_arrays(rng)
    path = root / "d.npz"
    (np.savez_compressed if rng.random() < 0.5 else np.savez)(path, **arrays)
    if rng.random() < 0.2:
        how, data = corrupt_bytes(rng, path.read_bytes())
        path.write_bytes(data)
        what += f", then {how}"
    return f"npz {what}", ["data", "inspect", f"npz:{path}"]


def toml_case(rng, root):
    path = root / "exp.toml"
    if rng.random() < 0.5:
        what, text = toml_values(rng)
        path.write_text(text)
    else:
        what, data = corrupt_bytes(rng, GOOD_TOML.encode())
        path.write_bytes(data)
    return f"toml {what}", ["config", "show", str(path)]


KINDS = {"idx": idx_case, "folder": folder_case, "npz": npz_case, "toml": toml_case}


def cases(kind: str):
    rng = random.Random(f"{SEED}-{kind}")
    return [random.Random(rng.random()) for _ in range(CASES_PER_KIND)]


# ---- the contract ----------------------------------------------------------------------------

INSPECT_HEAD = re.compile(r"\S+: (\d+) images of (\d+x\d+x[13]|mixed sizes) \(uint8\), (\d+) classes")


def check_result(desc, argv, code, out, err, root):
    """Exit 0 with a valid result, or exit 2 with exactly one `kgan CMD: error:` line."""
    if code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"kgan {argv[0]}: error: "), (desc, err)
        return
    assert code == 0, (desc, code, err)
    if argv[0] == "config":
        shown = tomllib.loads(out)
        assert from_dict(shown) == load_config(argv[2]), desc
        return
    head, _, *histogram = out.splitlines()[:-1]
    summary = INSPECT_HEAD.fullmatch(head)
    assert summary, (desc, head)
    count = int(summary.group(1))
    labels = {int(k): int(v) for k, v in (line.split(":") for line in histogram)}
    assert sum(labels.values()) == count and all(-1 <= k < 2**31 for k in labels), (desc, out)
    with Image.open(root / "grid.png") as grid:
        grid.verify()


def run_in_process(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_in_process(kind, tmp_path):
    outcomes = []
    for i, rng in enumerate(cases(kind)):
        root = tmp_path / str(i)
        root.mkdir()
        desc, argv = KINDS[kind](rng, root)
        if argv[0] == "data":
            argv += ["--grid", str(root / "grid.png"), "--n", "4"]
        try:
            code, out, err = run_in_process(argv)
        except BaseException:
            pytest.fail(f"case {kind} #{i} ({desc}) raised instead of exiting 0 or 2:\n{traceback.format_exc()}")
        check_result(f"case {kind} #{i} ({desc})", argv, code, out, err, root)
        outcomes.append(code)
    assert set(outcomes) == {0, 2}, outcomes  # both sides of the contract were exercised


TF_LOG_LINE = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\).*|[IWE]\d{4} .*")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_fuzz_real_cli(kind, tmp_path):
    """The first case of each kind as a user runs it: a real process, its real exit status and stderr.

    TensorFlow's C++ logging prints a few lines at import that TF_CPP_MIN_LOG_LEVEL cannot silence
    (they come before absl is initialized); apart from those, the error is the one line.
    """
    desc, argv = KINDS[kind](cases(kind)[0], tmp_path)
    if argv[0] == "data":
        argv += ["--grid", str(tmp_path / "grid.png"), "--n", "4"]
    result = run_cli(*argv, cwd=tmp_path)
    assert "Traceback" not in result.stderr, (desc, result.stderr)
    err = "\n".join(line for line in result.stderr.splitlines() if not TF_LOG_LINE.fullmatch(line))
    check_result(f"case {kind} #0 ({desc})", argv, result.returncode, result.stdout, err, tmp_path)
