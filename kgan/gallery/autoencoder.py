"""Sections of a model that serves an encode/decode pair (`surface.codec`: the autoencoders), from a run or an
export alike, on real examples of the model's data (held out when the run keeps some):
- `reconstructions`: input | reconstruction pairs (decode(encode(x)));
- `code_scatter`: the codes of real images in 2-D, coloured by class (the first two principal components when
  the code has more than two dimensions);
- `interpolations`: two real images encoded, the straight line between their codes decoded (the seeds' morphing,
  with a real encoder instead of a search for latents).
The prior samples are the page's "Random samples" section (the model's first direction draws from the prior).
"""

from __future__ import annotations

import numpy as np

from kgan.errors import DataError
from kgan.gallery.sections import Group, Section
from kgan.latent import interpolation_path
from kgan.models import surface

EXAMPLES = 512
PAIRS_SHOWN = 16
PAIRS_PER_ROW = 4
INTERPOLATIONS = 6
STEPS = 10
SECTIONS = ("reconstructions", "code_scatter", "interpolations")


def codec(src):
    """(encode, decode) directions of `src` as JSON, or None."""
    return surface.codec(src.directions) if src.available else None


def not_shown(src) -> dict[str, str]:
    """The sections above for a model that serves no encode/decode pair, with the reason."""
    if not src.available or codec(src) is not None:
        return {}
    why = "the model serves no encode/decode directions (not an autoencoder)"
    return {"reconstructions": f"Reconstructions: {why}", "code_scatter": f"Code scatter: {why}",
            "interpolations": f"Encoded interpolations: {why}"}


def examples(src, data: str | None = None, data_dir: str | None = None, n: int = EXAMPLES):
    """(float images [n, H, W, C] in [-1, 1], int labels, -1 unlabelled; a note, "" when loaded): a run's own
    evaluation split (held out when it keeps some), else the data `--data` or the export names."""
    if src.kind == "run" and not data:
        from kgan.data.features import feature_arrays

        rows = feature_arrays(src.cfg.data, n, seed=src.cfg.seed, split="evaluation")
        return rows["image"], np.asarray(rows.get("label", np.full(len(rows["image"]), -1))), ""
    from kgan.data import load_arrays
    from kgan.gallery.source import data_source

    named = data_source(src)
    source = data or (named[0] if named else None)
    if source is None:
        return None, None, "Missing: no real data to encode (pass --data SOURCE)."
    try:
        images, labels = load_arrays(source, data_dir or (named[2] if named and not data else None), n)
    except DataError as e:
        return None, None, f"Missing: real data {source!r} could not be loaded ({e})."
    return images.astype(np.float32) / 127.5 - 1.0, labels, ""


def _encode(src, pair, images):
    encode, _ = pair
    return src.call_direction(encode["name"], {encode["inputs"][0]["name"]: images})


def _decode(src, pair, codes):
    _, decode = pair
    return src.call_direction(decode["name"], {decode["inputs"][0]["name"]: codes.astype(np.float32)})


def _section(id_, title, intro, src, loaded):
    sec = Section(id_, title, intro)
    if not sec.lacks_model(src) and loaded[2]:
        sec.notes.append(loaded[2])
    return sec


def reconstructions_section(src, loaded, writer) -> Section:
    from kgan.imageio import to_uint8

    sec = _section("reconstructions", "Reconstructions",
                   f"Input | reconstruction (decode(encode(x))) pairs of the first {PAIRS_SHOWN} real examples, "
                   f"{PAIRS_PER_ROW} pairs per row.", src, loaded)
    if sec.notes:
        return sec
    pair, images = codec(src), loaded[0][:PAIRS_SHOWN]
    made = _decode(src, pair, _encode(src, pair, images))
    grid = np.stack([to_uint8(images), to_uint8(made)], axis=1).reshape((-1,) + images.shape[1:])
    sec.items.append(writer.grid("reconstructions.png", grid, 2 * PAIRS_PER_ROW, "input | reconstruction"))
    return sec


def project_2d(codes: np.ndarray) -> tuple[np.ndarray, str]:
    """(codes in 2-D, how): as they are when 2-D, else their first two principal components."""
    codes = np.asarray(codes, np.float64)
    if codes.shape[1] <= 2:
        return np.pad(codes, ((0, 0), (0, 2 - codes.shape[1]))), "the codes as they are"
    centred = codes - codes.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T, f"the first two principal components of the {codes.shape[1]}-D codes"


def scatter_section(src, loaded, writer, out_dir) -> Section:
    sec = _section("code_scatter", "Codes of real images",
                   "The codes of real examples in 2-D, one colour per class: a prior-matching model fills the "
                   "prior's round blob; a plain autoencoder's codes spread wherever reconstruction put them.",
                   src, loaded)
    if sec.notes:
        return sec
    images, labels, _ = loaded
    points, how = project_2d(_encode(src, codec(src), images))
    path = scatter_plot(out_dir / "code_scatter.png", points, labels, f"codes of {len(points)} real images: {how}")
    sec.items.append(Group([writer.plot(path, f"{len(points)} codes: {how}")]))
    return sec


def scatter_plot(path, points: np.ndarray, labels: np.ndarray, title: str):
    from kgan.gallery.plots import new_figure, plain_ticks, save_png

    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    for label in np.unique(labels):
        chosen = labels == label
        ax.scatter(points[chosen, 0], points[chosen, 1], s=6, alpha=0.7,
                   label="unlabelled" if label < 0 else str(int(label)))
    ax.set_title(title, fontsize="small")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)
    plain_ticks(ax)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="x-small", markerscale=2)
    fig.subplots_adjust(left=0.08, right=0.85, top=0.9, bottom=0.1)
    return save_png(fig, path)


def interpolations_section(src, loaded, writer, seed: int) -> Section:
    from kgan.imageio import to_uint8

    sec = _section("interpolations", "Encoded interpolations",
                   f"{INTERPOLATIONS} random pairs of real images (left and right columns), encoded; between them "
                   f"the decoded straight line (1 - t) e(x1) + t e(x2), {STEPS} steps.", src, loaded)
    if sec.notes:
        return sec
    images, pair = loaded[0], codec(src)
    pick = np.random.default_rng(seed + 7).permutation(len(images))[:2 * INTERPOLATIONS]
    first, second = images[pick[:INTERPOLATIONS]], images[pick[INTERPOLATIONS:]]
    path = interpolation_path(_encode(src, pair, first), _encode(src, pair, second), STEPS, "linear")
    made = _decode(src, pair, path.reshape(-1, path.shape[-1])).reshape((INTERPOLATIONS, STEPS) + images.shape[1:])
    rows = np.concatenate([first[:, None], made, second[:, None]], axis=1).reshape((-1,) + images.shape[1:])
    sec.items.append(writer.grid("interpolations.png", to_uint8(rows), STEPS + 2, "x1 | decoded path | x2"))
    return sec
