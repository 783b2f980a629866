"""kgan.gallery: a gallery of a tiny trained run, its files, missing pieces, and headless Chromium."""

import html
import json
import math
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kgan.config
import kgan.training
from conftest import REPO, run_cli
from kgan.gallery import render_gallery

SCALE = 3  # auto scale for 28x28
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def _cfg(**model):
    return kgan.config.from_dict({
        "name": "gallery-tiny", "seed": 0,
        "model": {"name": "dcgan", "width": 8, "latent_dim": 8, **model},
        "data": {"source": "mnist", "limit": 256, "batch_size": 16},
        "train": {"steps": 20, "checkpoint_every": 10, "snapshot_every": 10, "log_every": 10,
                  "ema": 0.0},
    })


REPORT = {
    "extractor": {"name": "classifier", "resize": "none"}, "resize": "none", "reference": "mnist",
    "num_samples": 100, "num_reference": 256, "seed": 0,
    "metrics": {"fid": {"value": 123.4}, "pr": {"precision": 0.1, "recall": 0.05}},
    "reference_points": {
        "real_vs_real": {"description": "halves", "num_samples": 128,
                         "metrics": {"fid": {"value": 1.5}, "pr": {"precision": 0.9, "recall": 0.9}}},
        "pixel_gaussian": {"description": "gauss", "num_samples": 256,
                           "metrics": {"fid": {"value": 300.0},
                                       "pr": {"precision": 0.0, "recall": 0.0}}}},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("gallery") / "run"
    kgan.training.train(_cfg(), run, verbose=False)
    return run


@pytest.fixture(scope="module")
def gallery(run_dir, tmp_path_factory):
    """A gallery of the run with a metrics report and a two-point metric history."""
    (run_dir / "report.json").write_text(json.dumps(REPORT))
    (run_dir / "reports").mkdir()
    for step, fid in ((10, 200.0), (20, 150.0)):
        (run_dir / "reports" / f"step_{step:07d}.json").write_text(
            json.dumps({**REPORT, "step": step, "metrics": {"fid": {"value": fid}}}))
    out = tmp_path_factory.mktemp("out") / "gallery"
    index = render_gallery(run_dir, out, real_limit=256)
    return index


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.images, self.sections, self.links = [], [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img":
            self.images.append(a)
        elif tag == "section":
            self.sections.append(a["id"])
        elif tag in ("a", "link", "script") and (a.get("href") or a.get("src")):
            self.links.append(a.get("href") or a.get("src"))


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text())
    return page


def _grid(n, cols, h=28, w=28):
    """Expected (width, height) of an n-image grid with `cols` columns at SCALE."""
    return cols * w * SCALE, math.ceil(n / cols) * h * SCALE


def test_every_image_exists_is_a_png_of_the_layout_size(gallery, run_dir):
    from kgan.gallery.plots import SIZE

    page = _parse(gallery)
    n_snapshots = len(list((run_dir / "snapshots").glob("step_*.npz")))
    assert n_snapshots == 3  # steps 0, 10, 20
    expected = {
        "samples.png": _grid(64, 8), "real.png": _grid(64, 8),
        "walk_linear.png": _grid(40, 10), "walk_spherical.png": _grid(40, 10),
        "truncation.png": _grid(36, 6), "neighbours.png": _grid(32, 4),
        **{f"progress_{s:07d}.png": _grid(8, 8) for s in (0, 10, 20)},
    }
    seen = set()
    for img in page.images:
        src = img["src"]
        assert not src.startswith(("/", "http:", "https:", "file:")), src  # relative links only
        path = gallery.parent / src
        assert path.is_file(), src
        with Image.open(path) as im:
            im.verify()
        with Image.open(path) as im:
            assert im.format == "PNG"
            size = im.size
        want = expected.get(src, SIZE if src.startswith(("history_", "metric_")) else None)
        assert want is not None, f"unexpected image {src}"
        assert size == want, (src, size, want)
        assert (int(img["width"]), int(img["height"])) == size, src
        seen.add(src)
    assert set(expected) <= seen, set(expected) - seen
    assert {"history_losses.png", "history_d_outputs.png"} <= seen
    assert any(s.startswith("metric_") for s in seen)
    assert page.links == [f"#{s}" for s in page.sections]  # nav only: no external resources


def test_sections_and_content(gallery):
    page = _parse(gallery)
    assert page.sections == ["samples", "progression", "walks", "truncation", "neighbours", "history",
                             "evaluation"]  # per-class rows, code traversals, input|output|target: not shown
    text = gallery.read_text()
    assert "<style>" in text and "<script" not in text
    assert "step 0" in text and "step 20" in text
    assert "Feature space: pixel space" in text
    assert "not shown" in text and "unconditional model" in text and "no image or text input" in text
    # evaluation table: the value next to both reference points
    assert "123.4000" in text and "1.5000" in text and "300.0000" in text
    assert "real vs real" in text and "pixel gaussian" in text
    assert "Missing" not in text
    meta = json.loads((gallery.parent / "gallery.json").read_text())
    assert meta["kind"] == "run" and meta["scale"] == SCALE


def test_same_seed_same_samples(gallery, run_dir, tmp_path):
    again = render_gallery(run_dir, tmp_path / "again", real_limit=64)
    a = np.asarray(Image.open(gallery.parent / "samples.png"))
    b = np.asarray(Image.open(again.parent / "samples.png"))
    np.testing.assert_array_equal(a, b)


def test_missing_pieces_render_with_notes(run_dir, tmp_path):
    bare = tmp_path / "bare"
    shutil.copytree(run_dir, bare, ignore=shutil.ignore_patterns("snapshots", "logs",
                                                                 "report.json", "reports"))
    index = render_gallery(bare, tmp_path / "g", real_limit=64)
    text = index.read_text()
    assert "Missing: no snapshots" in text
    assert "Missing: no training history" in text
    assert "Missing: no metrics report" in text
    assert 'class="note"' in text
    assert (index.parent / "samples.png").is_file()  # the model sections still render
    # a pre-existing gallery is replaced as a whole (atomic rename), not merged
    (index.parent / "stale.png").write_bytes(b"x")
    render_gallery(bare, tmp_path / "g", real_limit=64)
    assert not (index.parent / "stale.png").exists()


def test_refuses_to_overwrite_non_gallery(run_dir, tmp_path):
    from kgan.errors import KganError

    with pytest.raises(KganError):
        render_gallery(run_dir, run_dir.parent)  # would replace the run itself
    other = tmp_path / "precious"
    other.mkdir()
    (other / "data.txt").write_text("keep")
    with pytest.raises(KganError, match="not a gallery"):
        render_gallery(run_dir, other)
    assert (other / "data.txt").read_text() == "keep"


def test_cli_missing_path_exits_2(tmp_path):
    result = run_cli("gallery", str(tmp_path / "nope"), "--out", str(tmp_path / "g"), timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no such run directory or SavedModel export" in result.stderr
    assert not (tmp_path / "g").exists()


def test_from_export_alone(run_dir, tmp_path):
    from kgan.export import export_run

    version_dir = Path(export_run(run_dir, "tiny", base=tmp_path / "saved_models"))
    # real data comes from the exported run's config (metadata "source"), no --data needed
    index = render_gallery(tmp_path / "saved_models" / "tiny", tmp_path / "g", real_limit=64)
    text = index.read_text()
    assert "SavedModel export" in text
    assert "export&#x27;s `sample` signature" in text  # truncation sweep through the signature
    assert text.count("Not available from an exported SavedModel") == 2  # progression, history
    page = _parse(index)
    srcs = {i["src"] for i in page.images}
    assert {"samples.png", "real.png", "walk_linear.png", "walk_spherical.png", "truncation.png",
            "neighbours.png"} <= srcs
    assert not any(s.startswith(("progress_", "history_")) for s in srcs)
    for img in page.images:
        with Image.open(index.parent / img["src"]) as im:
            im.verify()
        with Image.open(index.parent / img["src"]) as im:
            assert im.size == (int(img["width"]), int(img["height"]))
    # the version directory works too, and the same seed gives the same samples as the name dir
    again = render_gallery(version_dir, tmp_path / "g2", data="mnist", real_limit=64)
    np.testing.assert_array_equal(np.asarray(Image.open(index.parent / "samples.png")),
                                  np.asarray(Image.open(again.parent / "samples.png")))


# ----------------------------------------------------------------------------- headless browser
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  window.__errors.push('error: ' + (e.message || (e.target && (e.target.src || e.target.href)) || '?'));
}, true);
window.addEventListener('unhandledrejection', function (e) { window.__errors.push('rejection: ' + e.reason); });
var __ce = console.error;
console.error = function () {
  window.__errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
  __ce.apply(console, arguments);
};
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images).map(function (i) {
    return {src: i.getAttribute('src'), complete: i.complete, w: i.naturalWidth, h: i.naturalHeight};
  });
  var pre = document.createElement('pre');
  pre.id = 'kgan-probe';
  pre.textContent = JSON.stringify({images: imgs, errors: window.__errors});
  document.body.appendChild(pre);
});
</script>"""


def _chromium(args, profile: Path):
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get update && apt-get install -y "
                    "chromium` (CI's .ci/run does this)")
    return subprocess.run([str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=90)


def test_browser_loads_every_image_without_errors(gallery, tmp_path):
    import re

    page_dir = gallery.parent
    probe_page = page_dir / "_probe.html"  # beside index.html so relative links resolve
    probe_page.write_text(gallery.read_text().replace("<head>", "<head>\n" + PROBE, 1))
    try:
        result = _chromium(["--virtual-time-budget=10000", "--dump-dom", probe_page.as_uri()],
                           tmp_path / "profile1")
    finally:
        probe_page.unlink()
    m = re.search(r'<pre id="kgan-probe">(.*?)</pre>', result.stdout, re.S)
    assert m, f"probe result missing (rc {result.returncode}):\n{result.stderr[-3000:]}"
    probe = json.loads(html.unescape(m.group(1)))
    assert probe["errors"] == []
    assert len(probe["images"]) == len(_parse(gallery).images) > 10
    for img in probe["images"]:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console

    shot = REPO / "artifacts" / "gallery_screenshot.png"
    shot.parent.mkdir(exist_ok=True)
    shot.unlink(missing_ok=True)
    _chromium(["--window-size=1600,6400", f"--screenshot={shot}", "--virtual-time-budget=10000",
               gallery.as_uri()], tmp_path / "profile2")
    assert shot.is_file(), "chromium wrote no screenshot"
    with Image.open(shot) as im:
        assert im.size == (1600, 6400)
        assert np.asarray(im.convert("L")).std() > 10  # not a blank page
    print(f"gallery screenshot: {shot}")
