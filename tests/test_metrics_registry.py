"""The metric registry, the paired metrics and the report table (numpy-fast, tiny data)."""

import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from kgan.errors import ConfigError
from kgan.metrics import Generator, evaluate, format_table, registry
from kgan.metrics.paired import l1, psnr, ssim
from kgan.metrics.registry import Headline, Metric
from kgan.metrics.report import format_value, resolve_metrics
from test_metrics import PixelExtractor, _blobs

FAST = {"kid": {"num_subsets": 3}, "ms_ssim": {"num_pairs": 100}, "swd": {"dir_repeats": 1},
        **{ppl: {"num_samples": 40} for ppl in ("ppl", "ppl_end", "ppl_w", "ppl_w_end")}}


def _generator():
    """A latent generator that also declares an intermediate latent (w = tanh(z)), so PPL in W is reachable."""
    from kgan.metrics.sources import LatentSpace
    from kgan.models.surface import IntermediateLatent

    w = np.random.default_rng(1).standard_normal((4, 784)) / 4
    synthesis = lambda inputs: np.tanh(inputs["w"] @ w).reshape(-1, 28, 28, 1)  # noqa: E731
    generator = Generator.from_latent(lambda z: synthesis({"w": np.tanh(z)}), latent_dim=4)
    generator.latent_space = LatentSpace(IntermediateLatent("w", (4,), "z", ()), np.tanh, synthesis)
    return generator


def _pairs(rng, n=40):
    targets = _blobs(n, rng)
    noisy = np.clip(targets.astype(int) + rng.integers(-20, 21, targets.shape), 0, 255)
    return targets, noisy.astype(np.uint8)


def test_every_registered_metric_is_reachable_through_evaluate():
    rng = np.random.default_rng(0)
    ref = _blobs(120, rng)
    targets, outputs = _pairs(rng)
    report = evaluate(_generator(), ref, PixelExtractor(), n=80, batch_size=40, num_images=60,
                      options=FAST, pairs=[(outputs[:20], targets[:20]),
                                           (outputs[20:], targets[20:])],
                      labels=rng.integers(0, 4, len(targets)), progress=False)
    reachable = set(registry.names()) - UNPAIRED_ONLY - TEXT_ONLY - ENCODER_ONLY
    assert set(report["metrics"]) == reachable
    for point in report["reference_points"].values():  # all but the PPLs (they need the generator)
        assert set(point["metrics"]) == reachable - {m for m in reachable if "generator" in registry.get(m).needs}
    table = format_table(report)
    for name in reachable:
        metric = registry.get(name)
        for h in metric.headlines:
            row = next(line for line in table.splitlines() if line.startswith(metric.label(h)))
            assert row.split()[len(metric.label(h).split())] == {
                "lower": "lower", "higher": "higher", "match": "~real"}[metric.direction_of(h)]
    assert "KID x1e3" in table and "L1 [0,1]" in table


#: metrics of an unpaired translator's outputs (the classes of its inputs): reached in the test below
UNPAIRED_ONLY = {"content_accuracy"}
#: metrics of a text-conditioned model (the captions its samples were made from): reached in tests/test_text_gan.py
TEXT_ONLY = {"caption_consistency", "held_out_captions"}
#: metrics of an autoencoder's held-out codes: reached in tests/test_autoencoders.py
ENCODER_ONLY = {"prior_mmd", "reconstruction_mse", "reconstruction_accuracy", "probe_accuracy"}


def test_content_accuracy_scores_an_unpaired_translator_against_its_inputs_classes():
    from kgan.imageio import to_uint8
    from kgan.models.surface import InputSpec

    rng = np.random.default_rng(3)
    inputs = _blobs(40, rng)
    extractor = PixelExtractor()
    predicted = extractor.probs(inputs).argmax(axis=1)
    labels = np.where(np.arange(40) % 4 == 0, (predicted + 1) % 4, predicted)  # a quarter disagree
    labels[1] = -1  # unlabelled: left out
    spec = InputSpec("image_a", "image", (28, 28, 1), feature="image_a")
    copier = Generator([spec], lambda x: np.asarray(x["image_a"], np.float32), identity_feature="image_a",
                       input_label_feature="label_a")  # returns its input: a translator that changes nothing
    data = iter([{"image_a": inputs[:20] / 127.5 - 1.0, "label_a": labels[:20]},
                 {"image_a": inputs[20:] / 127.5 - 1.0, "label_a": labels[20:]}])
    report = evaluate(copier, _blobs(60, rng), extractor, metrics="fid,content_accuracy", n=40, batch_size=20,
                      data=data, progress=False)
    assert to_uint8(inputs / 127.5 - 1.0).tolist() == inputs.tolist()
    expected = {"accuracy": 29 / 39, "num_labelled": 39}
    assert report["metrics"]["content_accuracy"] == pytest.approx(expected)
    points = report["reference_points"]
    assert points["identity"]["metrics"]["content_accuracy"] == pytest.approx(expected)  # the inputs as they are
    assert points["real_vs_real"]["metrics"]["content_accuracy"] == {}  # translated from nothing
    row = next(line for line in format_table(report).splitlines() if line.startswith("content accuracy"))
    assert row.split()[2:] == ["higher", "0.7436", "-", "-", "0.7436"]
    with pytest.raises(ConfigError, match="content_accuracy needs the classes of the inputs"):
        evaluate(_generator(), _blobs(60, rng), extractor, metrics="content_accuracy", n=20, progress=False)


def test_adding_a_metric_is_one_new_module(tmp_path, monkeypatch):
    import kgan.metrics as package

    (tmp_path / "brightness.py").write_text(
        "from kgan.metrics.registry import Headline, Metric, register\n"
        "register(Metric('brightness', {'images'},\n"
        "                lambda x: {'mean': float(x.sample['images'].mean())},\n"
        "                [Headline('mean', 'brightness')], 'higher', 'mean pixel value'))\n")
    monkeypatch.setattr(package, "__path__", [*package.__path__, str(tmp_path)])
    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.delitem(sys.modules, "kgan.metrics.brightness", raising=False)
    try:
        assert "brightness" in registry.names()
        assert resolve_metrics("fid,brightness", {"features", "images"}) == ["fid", "brightness"]
        rng = np.random.default_rng(1)
        ref, samples = _blobs(60, rng), _blobs(40, rng)
        report = evaluate(samples, ref, PixelExtractor(), metrics="brightness", n=40,
                          num_images=40, progress=False)
        assert report["metrics"]["brightness"]["mean"] == pytest.approx(samples.mean())
        row = format_table(report).splitlines()[-1].split()
        assert row[:2] == ["brightness", "higher"]
        assert float(row[2]) == pytest.approx(samples.mean(), rel=1e-3)
    finally:
        registry.unregister("brightness")


def test_resolve_metrics_checks_declared_needs():
    with pytest.raises(ConfigError, match=r"l1 needs \(output, target\) pairs"):
        resolve_metrics("fid,l1", {"features", "probs", "images"})
    with pytest.raises(ConfigError, match="is needs class probabilities"):
        resolve_metrics(["is"], {"features", "images"})
    with pytest.raises(ConfigError, match="unknown metric"):
        resolve_metrics("fid,nope", {"features"})
    assert resolve_metrics(None, {"paired"}) == ["l1", "ms_ssim_pairs", "psnr", "ssim"]
    assert "ppl" not in resolve_metrics(None, {"features", "probs", "images"})
    with pytest.raises(ValueError, match="unknown needs"):
        Metric("x", {"pixels"}, lambda x: {}, [Headline("v", "x")], "lower", "")
    with pytest.raises(ValueError, match="direction"):
        Metric("x", {"images"}, lambda x: {}, [Headline("v", "x")], "smaller", "")
    with pytest.raises(ValueError, match="registered by kgan.metrics.frechet and"):
        registry.register(Metric("fid", {"features"}, lambda x: {}, [Headline("v", "x")],
                                 "lower", ""))


def test_paired_metrics_against_hand_computation():
    rng = np.random.default_rng(2)
    targets = rng.integers(20, 236, (6, 28, 28, 3)).astype(np.uint8)
    signs = rng.choice([-1, 1], targets.shape)
    noisy = (targets.astype(int) + 10 * signs).astype(np.uint8)  # |error| = 10 everywhere
    assert psnr(noisy, targets)["mean"] == pytest.approx(10 * np.log10(255 ** 2 / 100))
    assert psnr(targets, targets)["mean"] == 100.0  # exact images: the finite cap
    assert l1(noisy, targets)["mean"] == pytest.approx(10 / 255)
    shifted = (targets.astype(int) + 51).clip(0, 255).astype(np.uint8)
    assert l1(shifted, targets)["mean"] == pytest.approx(
        np.abs(shifted.astype(int) - targets).mean() / 255)
    assert l1(np.full_like(targets, 51), np.zeros_like(targets))["mean"] == pytest.approx(0.2)
    assert ssim(targets, targets)["mean"] == pytest.approx(1.0, abs=1e-6)
    assert ssim(noisy, targets)["mean"] < 0.99


def test_paired_only_report_and_its_reference_points():
    rng = np.random.default_rng(3)
    targets, outputs = _pairs(rng)
    report = evaluate(None, None, None, metrics="l1,psnr,ssim", pairs=[(outputs, targets)],
                      progress=False)
    assert report["num_pairs"] == 40 and report["extractor"] is None
    ours, other = report["metrics"], report["reference_points"]["real_vs_real"]["metrics"]
    assert ours["psnr"]["mean"] > other["psnr"]["mean"] and ours["l1"]["mean"] < other["l1"]["mean"]
    assert ours["ssim"]["mean"] > report["reference_points"]["pixel_gaussian"]["metrics"][
        "ssim"]["mean"]
    assert "pairs: 40" in format_table(report)
    with pytest.raises(ConfigError, match="fid needs a feature extractor"):
        evaluate(None, None, None, metrics="fid,l1", pairs=[(outputs, targets)], progress=False)


def test_format_value_significant_digits():
    assert format_value(29498.97) == "29499"
    assert format_value(0.012345) == "0.01235"
    assert format_value(481.2168) == "481.2"
    assert format_value(-0.3) == "-0.3000"
    assert format_value(1e-6) == "1.000e-06"
    assert format_value(None) == "-" and format_value(0.0) == "0"


def test_config_metric_choices_come_from_the_registry_without_tensorflow():
    code = ("import sys, dataclasses; from kgan.config import EvalConfig, _check_value\n"
            "f = {x.name: x for x in dataclasses.fields(EvalConfig)}['metrics']\n"
            "_check_value('eval.metrics', f, ['fid', 'psnr'], list)\n"
            "try:\n    _check_value('eval.metrics', f, ['nope'], list)\n"
            "except Exception as e:\n    print(e)\n"
            "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert "'nope' is not allowed" in out[0] and "'psnr'" in out[0]
    assert out[1] == "False False"
