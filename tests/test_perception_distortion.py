"""The perception-distortion plot of a metrics report (every column with FID and PSNR, whatever the model) and the
`adversarial_weight:W` baselines that put more points on it."""

import json

import numpy as np
import pytest
from PIL import Image

import kgan.config
from kgan.errors import ConfigError
from kgan.gallery import perception_distortion as pd
from kgan.gallery.plots import SIZE
from kgan.models import registry


def _metrics(fid=None, psnr=None, **extra):
    out = dict(extra)
    if fid is not None:
        out["fid"] = {"value": fid}
    if psnr is not None:
        out["psnr"] = {"mean": psnr, "std": 1.0}
    return out


REPORT = {
    "metrics": _metrics(12.5, 21.0, l1={"mean": 0.05}),
    "reference_points": {  # in a JSON file's arbitrary order: the plot follows the table's
        "pixel_only": {"metrics": _metrics(30.0, 22.5)},
        "adversarial_weight:0.01": {"metrics": _metrics(9.0, 19.5)},
        "bicubic": {"metrics": _metrics(45.0, 18.0)},
        "identity": {"metrics": _metrics(80.0, 15.0)},
        "pixel_gaussian": {"metrics": _metrics(900.0, 6.0)},
        "real_vs_real": {"metrics": _metrics(1.5, 10.0)},
        "fid_only": {"metrics": _metrics(fid=5.0)},  # a column without PSNR is no point
    },
}
EXPECTED = [("sr4", 12.5, 21.0), ("real vs real", 1.5, 10.0), ("identity", 80.0, 15.0), ("bicubic", 45.0, 18.0),
            ("adversarial weight:0.01", 9.0, 19.5), ("pixel only", 30.0, 22.5)]


def test_points_are_the_columns_with_both_metrics_in_table_order():
    found = pd.points(REPORT, label="sr4")
    assert [(p["column"], p["fid"], p["psnr"]) for p in found] == EXPECTED  # no pixel gaussian, no fid_only


def test_plot_draws_every_point_where_its_numbers_are(tmp_path):
    path = tmp_path / "pd.png"
    found = pd.plot(REPORT, path, label="sr4")
    assert [(p["column"], p["fid"], p["psnr"]) for p in found] == EXPECTED
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == SIZE
        pixels = np.asarray(im.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # axes, text and markers, not a blank canvas
    fig = pd.figure(found)
    ax = fig.axes[0]
    drawn = [tuple(c.get_offsets()[0]) for c in ax.collections]
    assert drawn == [(fid, psnr) for _, fid, psnr in EXPECTED]
    assert [t.get_text() for t in ax.texts] == [c for c, _, _ in EXPECTED]
    assert ax.get_xscale() == "log" and "FID" in ax.get_xlabel() and "PSNR" in ax.get_ylabel()
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all("^" not in label and "e" not in label for label in labels), labels  # plain numbers


def test_non_positive_fid_keeps_a_linear_axis():
    fig = pd.figure([{"column": "a", "fid": 0.0, "psnr": 20.0}, {"column": "b", "fid": 3.0, "psnr": 18.0}])
    assert fig.axes[0].get_xscale() == "linear"


@pytest.mark.parametrize("report, reason", [
    (None, "no metrics report"),
    ({"metrics": _metrics(fid=3.0)}, "the report has no psnr"),
    ({"metrics": _metrics(psnr=20.0)}, "the report has no fid"),
    ({"metrics": {}}, "the report has no fid and no psnr"),
])
def test_a_report_without_both_metrics_has_no_plot_and_says_why(report, reason, tmp_path):
    assert pd.missing(report).startswith("Perception-distortion plot: " + reason)
    if report is not None:
        with pytest.raises(ValueError, match=reason):
            pd.plot(report, tmp_path / "pd.png")
        assert pd.write_beside(report, tmp_path / "report.json") == report
    assert not (tmp_path / "pd.png").exists() and not list(tmp_path.iterdir())


def test_write_beside_records_the_plot_next_to_the_report(tmp_path):
    report_path = tmp_path / "eval-abc" / "report.json"
    report_path.parent.mkdir()
    written = pd.write_beside(REPORT, report_path, label="sr4")
    entry = written["perception_distortion"]
    assert entry["plot"] == str(report_path.parent.resolve() / "report_perception_distortion.png")
    assert [(p["column"], p["fid"], p["psnr"]) for p in entry["points"]] == EXPECTED
    assert Image.open(entry["plot"]).size == SIZE
    json.dumps(written)  # still a JSON report
    assert "perception_distortion" not in REPORT  # the caller's report is not changed
    assert [p.name for p in report_path.parent.iterdir()] == ["report_perception_distortion.png"]  # no temporaries


# ----- adversarial_weight:W baselines --------------------------------------------------------------------------------
def test_adversarial_weight_baseline_parses_and_makes_a_config_with_that_weight():
    cfg = kgan.config.load_config("mnist_sr4").replace(**{"eval.baselines": ["pixel_only", "adversarial_weight:0.01"]})
    description, baseline = registry.baseline_config(cfg, "adversarial_weight:0.01")
    assert "adversarial weight 0.01" in description
    assert baseline.model.options["adversarial_weight"] == 0.01
    assert baseline.model.options["perceptual_weight"] == cfg.model.options["perceptual_weight"]
    assert baseline.train.phases == cfg.train.phases  # the pretraining phase is the model's own schedule
    assert baseline.name == "mnist_sr4-adversarial_weight-0.01" and baseline.eval.baselines == []
    registry.validate(baseline)

    _, zero = registry.baseline_config(cfg, "adversarial_weight:0")  # pixel_only with the perceptual term kept
    assert zero.model.options["adversarial_weight"] == 0 and zero.model.options["perceptual_weight"] == 1.0
    assert zero.train.phases == [] and zero.train.steps == cfg.train.steps  # its phases switch off terms it lacks
    _, sci = registry.baseline_config(cfg, "adversarial_weight:1e-2")
    assert sci.model.options["adversarial_weight"] == 0.01

    deblur = kgan.config.load_config("mnist_deblur").replace(**{"eval.baselines": ["adversarial_weight:0.5"]})
    assert registry.baseline_config(deblur, "adversarial_weight:0.5")[1].model.options["adversarial_weight"] == 0.5


@pytest.mark.parametrize("name, message", [
    ("adversarial_weight:-1", r"eval.baselines: 'adversarial_weight:-1' needs a number >= 0 after the colon"),
    ("adversarial_weight:abc", r"eval.baselines: 'adversarial_weight:abc' needs a number >= 0"),
    ("adversarial_weight:", r"eval.baselines: 'adversarial_weight:' needs a number >= 0"),
    ("adversarial_weight:inf", r"eval.baselines: 'adversarial_weight:inf' needs a number >= 0"),
    ("adversarial_weight", r"eval.baselines: model 'srgan' has no baseline 'adversarial_weight'; "
                           r"it has \['pixel_only', 'adversarial_weight:W >= 0'\]"),
    ("perceptual_weight:1", r"eval.baselines: model 'srgan' has no baseline 'perceptual_weight:1'"),
])
def test_bad_adversarial_weight_baselines_are_refused_at_load(name, message):
    with pytest.raises(ConfigError, match=message) as e:
        kgan.config.load_config("mnist_sr4").replace(**{"eval.baselines": [name]})
    assert "\n" not in str(e.value)


def test_only_the_restoration_families_offer_the_sweep():
    with pytest.raises(ConfigError, match=r"model 'pix2pix' has no baseline 'adversarial_weight:0.1'; "
                                          r"it has \['l1_only'\]"):
        kgan.config.load_config("mnist_pix2pix_edges").replace(**{"eval.baselines": ["adversarial_weight:0.1"]})
