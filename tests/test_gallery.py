"""kgan.gallery: a gallery of a tiny trained run, its files, missing pieces, and headless Chromium."""

import html
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import kgan.config
import kgan.training
from conftest import REPO, cli
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


def _table_rows(text: str, section: str) -> list[list[str]]:
    """The cells of the first table in one section of the page."""

    body = text.split(f'<section id="{section}">', 1)[1].split("</section>", 1)[0]
    table = re.search(r"<table.*?</table>", body, re.S).group(0)
    return [[html.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)]


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
        "latent_projection.png": _grid(16, 8), "latent_morph.png": _grid(8, 8),
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
    assert page.sections == ["samples", "progression", "walks", "truncation", "neighbours", "latent", "history",
                             "evaluation"]  # per-class rows, code traversals, input|output|target: not shown
    text = gallery.read_text()
    assert "<style>" in text and "<script" not in text
    assert "step 0" in text and "step 20" in text
    assert "Feature space: pixel space" in text
    assert "not shown" in text and "unconditional model" in text and "no image or text input" in text
    # evaluation table: the value next to both reference points, and which way is better
    rows = _table_rows(text, "evaluation")
    assert rows[0] == ["metric", "better", "samples", "real vs real", "pixel gaussian"]
    assert ["FID", "lower", "123.4", "1.500", "300.0"] in rows
    assert ["precision", "higher", "0.1000", "0.9000", "0"] in rows
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
    # ... and says the command that makes one, with this run and its data set
    assert html.unescape(f"Make one with: kgan classifier mnist && kgan evaluate {bare} --data mnist "
                         f"--features classifier --out {bare / 'report.json'}") in html.unescape(text)
    assert 'class="note"' in text
    assert (index.parent / "samples.png").is_file()  # the model sections still render
    # a pre-existing gallery is replaced as a whole (atomic rename), not merged
    (index.parent / "stale.png").write_bytes(b"x")
    render_gallery(bare, tmp_path / "g", real_limit=64)
    assert not (index.parent / "stale.png").exists()


PAIRED_REPORT = {**REPORT, "metrics": {**REPORT["metrics"], "psnr": {"mean": 18.5, "std": 2.0}},
                 "reference_points": {**REPORT["reference_points"],
                                      "real_vs_real": {"metrics": {"fid": {"value": 1.5}, "psnr": {"mean": 9.0}}},
                                      "identity": {"metrics": {"fid": {"value": 60.0}, "psnr": {"mean": 14.0}}}}}


def test_evaluation_plots_perception_against_distortion_for_a_report_with_both(run_dir, tmp_path):
    """Any model's report with FID and PSNR gets the plot (here a DCGAN's, with made-up paired numbers)."""
    from kgan.gallery import perception_distortion
    from kgan.gallery.plots import SIZE

    report = tmp_path / "paired_report.json"
    report.write_text(json.dumps(PAIRED_REPORT))
    index = render_gallery(run_dir, tmp_path / "g", report=report, real_limit=64)
    body = index.read_text().split('<section id="evaluation">', 1)[1].split("</section>", 1)[0]
    assert 'src="perception_distortion.png"' in body and "Perception (FID) against distortion (PSNR)" in body
    with Image.open(index.parent / "perception_distortion.png") as im:
        assert im.size == SIZE
    meta = json.loads((index.parent / "gallery.json").read_text())
    assert "perception_distortion" not in meta["not_shown"] and "perception_distortion.png" in meta["files"]
    drawn = perception_distortion.points(PAIRED_REPORT, label="samples")
    assert [(p["column"], p["fid"], p["psnr"]) for p in drawn] == [
        ("samples", 123.4, 18.5), ("real vs real", 1.5, 9.0), ("identity", 60.0, 14.0)]


def test_evaluation_without_psnr_names_the_missing_plot(gallery):
    """The fixture's report has FID but no paired metrics: no plot, and the page says why."""
    meta = json.loads((gallery.parent / "gallery.json").read_text())
    assert meta["not_shown"]["perception_distortion"].startswith(
        "Perception-distortion plot: the report has no psnr")
    assert not (gallery.parent / "perception_distortion.png").exists()
    assert "Perception-distortion plot: the report has no psnr" in gallery.read_text()


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
    result = cli("gallery", str(tmp_path / "nope"), "--out", str(tmp_path / "g"))
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


LAYOUT_PROBE = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images).map(function (i) {
    var r = i.getBoundingClientRect();
    return {src: i.getAttribute('src'), left: r.left, right: r.right, top: r.top, width: r.width,
            ratio: r.width ? r.height / r.width : 0, natural: i.naturalWidth ? i.naturalHeight / i.naturalWidth : 0,
            rendering: getComputedStyle(i).imageRendering};
  });
  parent.postMessage(JSON.stringify({viewport: window.innerWidth, images: imgs,
                                     scroll: document.documentElement.scrollWidth}), '*');
});
</script>"""

# Chromium's window is at least 500 px wide, so the page is measured in iframes of the given widths.
LAYOUT_HARNESS = """<!DOCTYPE html><html><body>
<iframe src="_layout.html" style="width: 390px; height: 3000px; border: 0"></iframe>
<iframe src="_layout.html" style="width: 1400px; height: 3000px; border: 0"></iframe>
<script>
window.addEventListener('message', function (e) {
  var pre = document.createElement('pre');
  pre.className = 'kgan-layout';
  pre.textContent = e.data;
  document.body.appendChild(pre);
});
</script></body></html>"""


def _layouts(gallery: Path, profile: Path) -> dict:
    """{viewport width: layout facts} of the page at 390 and 1400 px in headless Chromium."""
    probe_page, harness = gallery.parent / "_layout.html", gallery.parent / "_harness.html"
    probe_page.write_text(gallery.read_text().replace("<head>", "<head>\n" + LAYOUT_PROBE, 1))
    harness.write_text(LAYOUT_HARNESS)
    try:
        result = _chromium(["--virtual-time-budget=10000", "--dump-dom", harness.as_uri()], profile)
    finally:
        probe_page.unlink()
        harness.unlink()
    found = [json.loads(html.unescape(m)) for m in re.findall(r'<pre class="kgan-layout">(.*?)</pre>',
                                                               result.stdout, re.S)]
    assert len(found) == 2, f"layout probes missing (rc {result.returncode}):\n{result.stderr[-3000:]}"
    return {facts["viewport"]: facts for facts in found}


def test_layout_phone_and_laptop(gallery, tmp_path):
    layouts = _layouts(gallery, tmp_path / "profile")
    assert set(layouts) == {390, 1400}
    phone = layouts[390]
    assert len(phone["images"]) > 10
    for img in phone["images"]:
        assert img["left"] >= 0 and img["right"] <= 390 + 0.5, img  # no image overflows the screen
        assert img["ratio"] == pytest.approx(img["natural"], rel=0.02), img  # shrunk, not squashed
        if not img["src"].startswith(("history_", "metric_")):
            assert img["rendering"] == "pixelated", img
    assert phone["scroll"] <= 390  # nothing else makes the page scroll sideways either
    laptop = layouts[1400]
    by_src = {i["src"]: i for i in laptop["images"]}
    fake, real = by_src["samples.png"], by_src["real.png"]
    assert fake["top"] == real["top"], (fake, real)  # side by side ...
    assert fake["right"] <= real["left"], (fake, real)  # ... generated left, real right
    assert fake["width"] == real["width"] == _grid(64, 8)[0]  # at full size
    assert real["right"] <= 1400


def test_plots_use_plain_tick_labels(tmp_path):
    from kgan.gallery.plots import line_figure

    fig = line_figure({"IS": ([10, 20, 30], [1.000001, 1.000002, 1.0000015])}, "IS vs step")
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.yaxis.get_offset_text().get_text() == ""  # was "1e-7+1.000002"-style
    labels = [t.get_text().replace("\u2212", "-") for t in ax.get_yticklabels() if t.get_text()]
    assert labels and all("e" not in label for label in labels), labels
    assert all(float(label) > 0.99 for label in labels), labels  # the values themselves, not offsets


def test_nearest_searches_every_real_image():
    from kgan.gallery.neighbours import embed, nearest

    real = np.random.default_rng(0).integers(0, 256, (2600, 6, 6, 1), dtype=np.uint8)
    queries = embed(real[[2500, 7]])
    found, dist = nearest(queries, real, 3, batch=512)
    assert found[:, 0].tolist() == [2500, 7] and dist[:, 0] == pytest.approx([0, 0], abs=1e-6)
    assert (np.diff(dist, axis=1) >= 0).all()
    found, dist = nearest(queries, real, 1, exclude=[2500, -1], batch=512)  # itself does not count
    assert found[0, 0] != 2500 and dist[0, 0] > 0 and found[1, 0] == 7


def test_neighbour_beyond_2000_in_the_gallery(run_dir, tiny_digits, tmp_path):
    """A copy of generated sample 3 placed at index 2100 of the real data is found."""
    from kgan.gallery.neighbours import QUERIES
    from kgan.gallery.sections import SAMPLES
    from kgan.gallery.source import open_source

    src = open_source(run_dir)
    fake = src.generate(src.draw(SAMPLES, 0))[:QUERIES]
    real = np.concatenate([np.tile(tiny_digits["images"], (9, 1, 1, 1))[:2100], fake[3:4]])
    np.savez(tmp_path / "big.npz", x=real[..., 0], y=np.zeros(len(real), np.int64))
    index = render_gallery(run_dir, tmp_path / "g", data=f"npz:{tmp_path / 'big.npz'}")
    rows = _table_rows(index.read_text(), "neighbours")
    assert rows[4][:2] == ["3", "0.000"], rows  # row 0 is the header
    assert all(float(r[1]) > 0 for i, r in enumerate(rows[1:]) if i != 3)
    text = html.unescape(index.read_text())
    assert "3 nearest of 2101 real images" in text
    assert "real-to-real reference: a real image's nearest other real image is at median" in text


def test_samples_by_predicted_class(run_dir, tiny_digits, tmp_path, gallery):
    from kgan.gallery.predicted import DRAWS
    from kgan.metrics.classifier import ClassifierExtractor, train_classifier

    assert "predicted" not in _parse(gallery).sections  # no classifier: named at the top instead
    assert "Samples by predicted class: no classifier with classes" in gallery.read_text()
    clf = train_classifier(tiny_digits["images"], tiny_digits["labels"], 1, tmp_path / "clf.keras")
    index = render_gallery(run_dir, tmp_path / "g", classifier=clf, real_limit=256)
    text = html.unescape(index.read_text())
    assert "predicted" in _parse(index).sections
    assert "The classes are predicted, not chosen" in text
    extractor = ClassifierExtractor(clf)
    counts = {int(c): int(n) for c, n in re.findall(r"class (\d+): (\d+)<", text)}
    assert sum(counts.values()) == DRAWS and counts
    for c in counts:  # every row holds samples the classifier puts in that class
        grid = np.asarray(Image.open(index.parent / f"predicted_{c:03d}.png"))  # grayscale, SCALE-fold
        first = grid[:28 * SCALE:SCALE, :28 * SCALE:SCALE].reshape(1, 28, 28, 1)
        assert extractor.probs(first).argmax() == c
    # the latent tools' section steers one sample towards each class, a row each, the start on the left
    steered = np.asarray(Image.open(index.parent / "latent_steer.png"))[::SCALE, ::SCALE]
    assert steered.shape == (10 * 28, 7 * 28)
    rows = steered.reshape(10, 28, 7, 28).transpose(0, 2, 1, 3)[..., None]
    probs = extractor.probs(rows.reshape(-1, 28, 28, 1)).reshape(10, 7, -1)
    assert np.all(probs[np.arange(10), -1, np.arange(10)] >= probs[np.arange(10), 0, np.arange(10)] - 0.02)
    assert "Steering: no classifier" in gallery.read_text()


def test_training_warnings_at_the_top(run_dir, tmp_path):
    from kgan.collapse import CollapseDetector

    run = tmp_path / "run"
    shutil.copytree(run_dir, run, ignore=shutil.ignore_patterns("report.json", "reports"))
    detector = CollapseDetector(window=2)
    collapse = [detector.update(0.0, 1.0) for _ in range(2)][-1]  # the detector's own message
    (run / "logs" / "events.log").write_text(
        "2024-01-01T00:00:00 step 0: resumed from ckpt-10\n"
        "2024-01-01T00:00:01 step 12: divergence: 5 non-finite steps; restored ckpt-10, learning rates x0.5\n"
        f"2024-01-01T00:00:02 step 18: {collapse}\n"
        "garbage line\n")
    index = render_gallery(run, tmp_path / "g", real_limit=64)
    text = index.read_text()
    box = text.split('<div class="warnings"', 1)[1].split("</div>", 1)[0]
    assert text.index('<div class="warnings"') < text.index('<table class="meta">')  # above everything
    assert "step 12: divergence: 5 non-finite steps" in box and "step 18: collapse suspected" in box
    assert "resumed" not in box and "garbage" not in box
    assert json.loads((index.parent / "gallery.json").read_text())["warnings"][0].startswith("step 12")
    (run / "logs" / "events.log").write_text("2024-01-01T00:00:00 step 0: resumed from ckpt-10\n")
    assert 'class="warnings"' not in render_gallery(run, tmp_path / "g", real_limit=64).read_text()


@pytest.fixture(scope="module")
def second_run(run_dir, tmp_path_factory):
    run = tmp_path_factory.mktemp("compare") / "run2"
    kgan.training.train(_cfg().replace(**{"train.steps": 10, "seed": 1, "name": "second"}), run, verbose=False)
    return run


def test_compare_two_runs(gallery, run_dir, second_run, tmp_path, monkeypatch):
    import kgan.gallery.plots
    from kgan.gallery.compare import render_compare

    (second_run / "report.json").write_text(json.dumps({**REPORT, "metrics": {"fid": {"value": 99.0}}}))
    (second_run / "reports").mkdir(exist_ok=True)
    for step, fid in ((5, 180.0), (10, 120.0)):
        (second_run / "reports" / f"step_{step:07d}.json").write_text(
            json.dumps({"step": step, "metrics": {"fid": {"value": fid}}}))
    plotted = []
    line_plot = kgan.gallery.plots.line_plot
    monkeypatch.setattr(kgan.gallery.plots, "line_plot",
                        lambda path, series, *a, **k: plotted.append(series) or line_plot(path, series, *a, **k))
    index = render_compare([run_dir, second_run], tmp_path / "cmp")
    text = index.read_text()
    rows = _table_rows(text, "metrics")
    assert rows[0] == ["metric", "better", "1. gallery-tiny", "2. second", "real vs real", "pixel gaussian"]
    assert ["FID", "lower", "123.4", "99.00", "1.500", "300.0"] in rows
    srcs = {i["src"] for i in _parse(index).images}
    assert {"samples_0.png", "samples_1.png", "real.png", "metric_00.png"} <= srcs
    assert 'class="group cols"' in text  # the grids side by side
    assert plotted == [{"1. gallery-tiny": ([10, 20], [200.0, 150.0]), "2. second": ([5, 10], [180.0, 120.0])}]


def test_compare_refuses_different_data_sets(run_dir, second_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(second_run, other)
    config = other / "config.toml"
    config.write_text(config.read_text().replace('source = "mnist"', f'source = "npz:{tmp_path / "x.npz"}"'))
    result = cli("compare", str(run_dir), str(other), "--out", str(tmp_path / "cmp"))
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("kgan compare")]
    assert len(lines) == 1 and "different data sets" in lines[0] and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "cmp").exists()


def test_paired_run_shows_triptych_progression_and_output_diversity(p2p_run, tmp_path):
    from kgan.gallery import diversity

    index = render_gallery(p2p_run["run"], tmp_path / "g")
    page, text = _parse(index), index.read_text()
    assert page.sections == ["progression", "paired", "diversity", "history", "evaluation"]
    sizes = {}
    for img in page.images:
        with Image.open(index.parent / img["src"]) as im:
            sizes[img["src"]] = im.size
    for step in (0, 2, 4):  # the first 4 fixed held-out examples, input | output | target side by side
        assert sizes[f"progress_{step:07d}.png"] == _grid(12, 12)
    assert "first 4 fixed held-out examples" in text and "first 4 fixed examples: source | output | target" in text
    assert sizes["diversity.png"] == _grid(2 + diversity.DRAWS, 2 + diversity.DRAWS)  # the input, 8 draws, std map
    std = float(re.search(r"per-pixel std across the draws: ([\d.]+) of 255", text).group(1))
    assert ("about 0" in text) == (std < diversity.NEGLIGIBLE)
    assert "dropout kept on at inference" in text


def test_output_diversity_is_left_out_for_a_deterministic_declaration(p2p_run, tmp_path, monkeypatch):
    from kgan.models.pix2pix import Pix2Pix

    monkeypatch.setattr(Pix2Pix, "inference_noise", "")
    index = render_gallery(p2p_run["run"], tmp_path / "g")
    assert "diversity" not in _parse(index).sections and not (index.parent / "diversity.png").exists()
    not_shown = json.loads((index.parent / "gallery.json").read_text())["not_shown"]
    assert not_shown["diversity"].startswith("Output diversity: deterministic inference")
    assert "deterministic inference" in index.read_text()
