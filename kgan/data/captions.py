"""Captions of images: the `text` data feature, from a file beside the images or generated from measured attributes.

`data.captions` (TensorFlow-free parsing and reading; `kgan.data.text` turns the result into the feature):

| value | captions |
|---|---|
| `""` | none: the data has no `text` feature |
| `file` | `captions.jsonl` or `captions.csv` beside the source (in a `folder:` / `idx:` directory, in the directory of an `npz:` / `idx:` file) |
| `file:PATH` | that `.jsonl` or `.csv` file |
| `attributes` | generated for digits (labels 0-9): the digit's name with its measured thickness, slant and size (`kgan.data.attributes`) in several templates |

Caption files name each image by `image`: its path relative to a `folder:` source, else its index in the
source (0-based, before `data.limit`); an image may have several captions:
- `captions.jsonl`: one JSON object per line, `{"image": KEY, "caption": "..."}` or `{"image": KEY, "captions": [...]}`;
- `captions.csv`: a header with the columns `image` and `caption` (others ignored), one caption per row.
Every image needs at least one caption; training draws one of an image's captions per epoch.

Generated captions (`attributes`) phrase each digit in `CAPTIONS_PER_IMAGE` ways ("a thick seven slanted to
the right", "7, bold, leaning right"). The combinations in `HELD_OUT` (a digit with one attribute bin) are never
phrased: such an image's captions leave that attribute out, so a model sees "thick" and "seven" in training but
never "a thick seven"; `held_out_captions()` asks for exactly those combinations at evaluation.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from kgan.data import attributes
from kgan.errors import ConfigError, DataError

KINDS = ("file", "attributes")
CAPTIONS_PER_IMAGE = 5
FILES = ("captions.jsonl", "captions.csv")

DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
#: the words of each attribute bin; the first is canonical, the others are the templates' synonyms
WORDS = {
    "thickness": {"thin": ("thin", "light"), "medium": ("regular",), "thick": ("thick", "bold")},
    "slant": {"left": ("slanted to the left", "leaning left"), "upright": ("upright", "straight"),
              "right": ("slanted to the right", "leaning right")},
    "size": {"small": ("small", "tiny"), "medium": ("medium-sized",), "large": ("large", "big")},
}
#: (digit, attribute, bin) combinations that generated training captions never phrase
HELD_OUT = ((7, "thickness", "thick"), (3, "thickness", "thin"), (2, "slant", "left"), (8, "slant", "right"),
            (4, "size", "small"), (6, "size", "large"))


def check(data_cfg) -> None:
    """ConfigError for a `data.captions` value that is not one of the forms above, or captions of a source of
    pairs or domains (TensorFlow-free)."""
    value = data_cfg.captions
    kind, colon, path = value.partition(":")
    if value and (kind not in KINDS or (colon and (kind != "file" or not path))):
        raise ConfigError(f"data.captions: {value!r} is not allowed; use '', 'file', 'file:PATH' (.jsonl or .csv) "
                          "or 'attributes'")
    if colon and Path(path).suffix not in (".jsonl", ".csv"):
        raise ConfigError(f"data.captions: {path!r} must be a .jsonl or .csv captions file")
    if value and data_cfg.source.startswith(("paired:", "unpaired:")):
        raise ConfigError(f"data.captions: captions describe the images of one source; {data_cfg.source!r} holds "
                          "pairs or two domains (leave data.captions empty)")


# ----- caption files -------------------------------------------------------------------------------------------
def beside(source_path: Path) -> Path:
    """The captions file beside a source's images: in its directory, or in the directory of its file."""
    folder = source_path if source_path.is_dir() else source_path.parent
    found = [folder / name for name in FILES if (folder / name).is_file()]
    if not found:
        raise DataError(f"{folder}: no {' or '.join(FILES)} beside the images (data.captions = 'file'); write one "
                        "or name it with data.captions = 'file:PATH'")
    return found[0]


def read_file(path: Path) -> dict[str, list[str]]:
    """{image key: captions} of a `.jsonl` or `.csv` captions file; a DataError naming the line for bad rows."""
    if not path.is_file():
        raise DataError(f"{path}: no such captions file")
    out: dict[str, list[str]] = {}
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"image", "caption"} <= set(reader.fieldnames):
                raise DataError(f"{path}: expected a header with the columns 'image' and 'caption', got "
                                f"{reader.fieldnames}")
            for line, row in enumerate(reader, start=2):
                _add(out, row["image"], [row["caption"]], f"{path}:{line}")
        return out
    for line, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{line}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict) or "image" not in row or ("caption" in row) == ("captions" in row):
            raise DataError(f"{path}:{line}: expected {{\"image\": KEY, \"caption\": TEXT}} or "
                            "{\"image\": KEY, \"captions\": [TEXT, ...]}")
        _add(out, row["image"], [row["caption"]] if "caption" in row else row["captions"], f"{path}:{line}")
    return out


def _add(out: dict, key, captions, where: str) -> None:
    if not isinstance(captions, list) or not all(isinstance(c, str) and c.strip() for c in captions):
        raise DataError(f"{where}: captions must be non-empty strings")
    out.setdefault(str(key), []).extend(c.strip() for c in captions)


def align(table: dict[str, list[str]], keys: list[str], where: Path) -> list[list[str]]:
    """The captions of each image, in the source's order; a DataError naming the first image without one."""
    missing = [k for k in keys if k not in table]
    if missing:
        raise DataError(f"{where}: no caption for image {missing[0]!r} ({len(missing)} of {len(keys)} images have "
                        "none); every image needs at least one")
    return [table[k] for k in keys]


# ----- generated captions ----------------------------------------------------------------------------------------
_TEMPLATES = (
    lambda d, w: " ".join(["a", *[w[a] for a in ("size", "thickness") if a in w], DIGITS[d],
                           *([w["slant"]] if "slant" in w else [])]),
    lambda d, w: ", ".join([str(d), *w.values()]),
    lambda d, w: f"the digit {DIGITS[d]}" + "".join(f", {v}" for v in w.values()),
    lambda d, w: " ".join(["a", *[w[a] for a in ("thickness", "size") if a in w], "handwritten", DIGITS[d],
                           *([w["slant"]] if "slant" in w else [])]),
    lambda d, w: f"{DIGITS[d]}" + (" that is " + " and ".join(w.values()) if w else ""),
)


def phrase(digit: int, requested: dict[str, str], rng: np.random.Generator) -> str:
    """One caption of `digit` naming `requested` ({attribute: bin}) with a random template and synonyms."""
    words = {a: WORDS[a][b][rng.integers(len(WORDS[a][b]))] for a, b in requested.items()}
    return _TEMPLATES[rng.integers(len(_TEMPLATES))](digit, words)


def is_held_out(digit: int, attribute: str, bin_name: str) -> bool:
    return (int(digit), attribute, bin_name) in HELD_OUT


def generate(images, labels, seed: int = 0, per_image: int = CAPTIONS_PER_IMAGE) -> list[list[str]]:
    """`per_image` captions of each digit image (labels 0-9), from its measured attribute bins; each caption
    names a random non-empty subset of the attributes, never a `HELD_OUT` combination. Seeded by (seed, index)."""
    labels = np.asarray(labels)
    bad = np.flatnonzero((labels < 0) | (labels > 9))
    if len(bad):
        raise DataError(f"data.captions = 'attributes' phrases digits 0-9; example {int(bad[0])} has label "
                        f"{int(labels[bad[0]])}")
    measured = attributes.measured_bins(images)
    out = []
    for i, digit in enumerate(labels):
        rng = np.random.default_rng([seed, i])
        allowed = {a: attributes.BINS[a][int(measured[a][i])] for a in attributes.ATTRIBUTES
                   if not is_held_out(digit, a, attributes.BINS[a][int(measured[a][i])])}
        names = list(allowed)
        captions = []
        for _ in range(per_image):
            chosen = [a for a in names if rng.random() < 0.7] or names[:1]
            captions.append(phrase(int(digit), {a: allowed[a] for a in chosen}, rng))
        out.append(captions)
    return out


def held_out_captions(per_combination: int = 4, seed: int = 0) -> list[tuple[tuple, str]]:
    """((digit, attribute, bin), caption) for every `HELD_OUT` combination, `per_combination` phrasings each."""
    rng = np.random.default_rng(seed)
    return [(combo, phrase(combo[0], {combo[1]: combo[2]}, rng)) for combo in HELD_OUT for _ in range(per_combination)]


# ----- reading a caption back ------------------------------------------------------------------------------------
def requested(caption: str) -> tuple[int | None, dict[str, int]]:
    """(digit named, {attribute: bin index requested}) of a caption: the digit's name or numeral, and each
    attribute whose words it contains (None / absent when it names none, or several)."""
    text = f" {caption.lower().replace(',', ' ')} "
    digits = {d for d, name in enumerate(DIGITS) if f" {name} " in text or f" {d} " in text}
    asked = {}
    for attribute, bins in WORDS.items():
        hits = {attributes.BINS[attribute].index(b) for b, words in bins.items() if any(f" {w} " in text for w in words)}
        if len(hits) == 1:
            asked[attribute] = hits.pop()
    return (digits.pop() if len(digits) == 1 else None), asked


def vocabulary(captions: list[list[str]]) -> list[str]:
    """The characters of the captions, lower-cased, sorted: the text encoder's vocabulary (adapted to the data)."""
    return sorted({ch for group in captions for caption in group for ch in caption.lower()})
