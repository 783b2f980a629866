"""Evaluation of image-to-image models: the identity reference point, classifier accuracy on outputs,
and the L1-only baseline's config (validated at load, without TensorFlow)."""

import numpy as np
import pytest

import kgan.config
from kgan.errors import ConfigError, DataError
from kgan.metrics import FeatureExtractor, Generator, evaluate, format_table
from kgan.metrics.identity import as_output
from kgan.metrics.output_accuracy import accuracy
from kgan.models import registry, surface

LEVEL = 60  # class k is the constant image of pixel value 60 k


class LevelExtractor(FeatureExtractor):
    """Features: mean and first-pixel value; class: the nearest level."""

    name = "levels"
    num_classes = 4

    @property
    def details(self):
        return {"name": self.name, "resize": "none"}

    def _forward(self, images):
        x = np.asarray(images, np.float64)
        mean = x.reshape(len(x), -1).mean(axis=1)
        feats = np.stack([mean, x[:, 0, 0, 0]], axis=1)
        return feats, np.eye(4)[np.clip(np.round(mean / LEVEL).astype(int), 0, 3)]


def test_identity_resizes_nearest_and_brings_channels_to_the_output():
    small = np.arange(4, dtype=np.uint8).reshape(1, 2, 2, 1)
    np.testing.assert_array_equal(as_output(small, (4, 4, 1))[0, :, :, 0],
                                  [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]])
    masked = np.concatenate([np.full((1, 2, 2, 3), 7, np.uint8), np.full((1, 2, 2, 1), 255, np.uint8)], -1)
    assert (as_output(masked, (2, 2, 3)) == 7).all()  # the mask channel is dropped
    gray = np.full((1, 2, 2, 1), 9, np.uint8)
    assert as_output(gray, (2, 2, 3)).shape == (1, 2, 2, 3) and (as_output(gray, (2, 2, 3)) == 9).all()


def test_accuracy_counts_only_labelled_examples():
    probs = np.eye(3)[[0, 1, 2, 2]]
    assert accuracy(probs, np.array([0, 1, 1, -1])) == {"accuracy": 2 / 3, "num_labelled": 3}
    with pytest.raises(DataError, match="every label is -1"):
        accuracy(probs, np.full(4, -1))


def _rows(labels):
    """Inpainting-like rows: source = the target plus a mask channel; targets are class levels."""
    target = np.stack([np.full((4, 4, 1), LEVEL * max(k, 0), np.float32) for k in labels]) / 127.5 - 1
    source = np.concatenate([target, np.ones_like(target)], axis=-1)
    return {"source": source, "target": target, "label": np.array(labels)}


def _translator():
    """Outputs black (class 0) whatever the input: right only for class-0 examples."""
    spec = surface.InputSpec("source", "image", (4, 4, 2), feature="source")
    return Generator([spec], lambda inputs: -np.ones((len(inputs["source"]), 4, 4, 1), np.float32),
                     target_feature="target", identity_feature="source")


def test_report_has_identity_and_accuracy_columns_with_known_answers():
    labels = [0, 1, 2, 3, 0, 1, 2, -1]
    rows = _rows(labels)
    report = evaluate(_translator(), (rows["target"] * 127.5 + 127.5).astype(np.uint8), LevelExtractor(),
                      metrics="l1,output_accuracy,fid", n=8, data=iter([rows]), batch_size=4, progress=False)
    points = report["reference_points"]
    assert report["metrics"]["output_accuracy"] == {"accuracy": 2 / 7, "num_labelled": 7}
    assert points["real_vs_real"]["metrics"]["output_accuracy"]["accuracy"] == 1.0  # accuracy on real targets
    identity = points["identity"]["metrics"]
    assert identity["output_accuracy"]["accuracy"] == 1.0  # the input (mask channel dropped) is the target
    assert identity["l1"]["mean"] == 0.0 and identity["fid"]["value"] == pytest.approx(0.0, abs=1e-6)
    assert report["metrics"]["l1"]["mean"] == pytest.approx(np.mean([LEVEL * max(k, 0) for k in labels]) / 255)
    table = format_table(report).splitlines()
    header = next(line for line in table if line.startswith("metric"))
    assert header.split()[-2:] == ["gaussian", "identity"]
    accuracy_row = next(line for line in table if line.startswith("output accuracy"))
    assert accuracy_row.split()[-4:] == ["0.2857", "1.000", "0.4286", "1.000"]  # samples, real, gaussian, identity


def test_output_accuracy_needs_labels():
    unlabelled = _rows([-1] * 4)
    report = evaluate(_translator(), None, LevelExtractor(), metrics="l1", n=4,
                      data=iter([{k: v for k, v in unlabelled.items() if k != "label"}]), progress=False)
    assert set(report["metrics"]) == {"l1"} and report["reference_points"]["identity"]["metrics"]["l1"]["mean"] == 0
    with pytest.raises(ConfigError, match="output_accuracy needs class labels"):
        evaluate(_translator(), None, LevelExtractor(), metrics="output_accuracy", n=4, data=iter([unlabelled]),
                 progress=False)


def test_baselines_are_validated_at_load_and_derive_their_own_experiment():
    cfg = kgan.config.load_config("mnist_pix2pix_edges").replace(**{"eval.baselines": ["l1_only"]})
    description, baseline = registry.baseline_config(cfg, "l1_only")
    assert "L1 only" in description
    assert baseline.name == "mnist_pix2pix_edges-l1_only" and baseline.eval.baselines == []
    assert baseline.model.options["adversarial_weight"] == 0
    assert baseline.section_hash("data") == cfg.section_hash("data")  # the same prepared data and held-out split
    with pytest.raises(ConfigError, match=r"eval.baselines: model 'pix2pix' has no baseline 'gan'; it has \['l1_only'\]"):
        cfg.replace(**{"eval.baselines": ["gan"]})
    with pytest.raises(ConfigError, match="model 'dcgan' has no baseline 'l1_only'; it has none"):
        kgan.config.from_dict({"eval": {"baselines": ["l1_only"]}})


def test_the_pipeline_evaluates_each_baseline_with_the_same_stages(tmp_path):
    """Evaluate requires the baseline's own Evaluate (its own TrainGAN: no discriminator updates), on the same
    prepared data and classifier; the baseline's numbers become a reference point of the report."""
    import json

    from kgan import tasks
    from kgan.metrics.report import add_reference_point

    cfg = kgan.config.load_config("mnist_pix2pix_edges").replace(**{"eval.baselines": ["l1_only"]})
    reqs = tasks.Evaluate.for_config(cfg, str(tmp_path)).requires()
    baseline = reqs["baselines"]["l1_only"]
    assert isinstance(baseline, tasks.Evaluate) and baseline.cfg.model.options["adversarial_weight"] == 0
    inner = baseline.requires()
    assert inner["data"].digest == reqs["data"].digest and inner["classifier"].digest == reqs["classifier"].digest
    assert inner["export"].requires().run_dir != reqs["export"].requires().run_dir
    assert inner["baselines"] == {}
    other = tmp_path / "baseline.json"
    other.write_text(json.dumps({"metrics": {"l1": {"mean": 0.1}, "fid": {"value": 3.0}, "kid": {"value": 1.0}}}))
    report = {"metrics": {"l1": {"mean": 0.2}, "fid": {"value": 5.0}},
              "reference_points": {"identity": {"metrics": {}}, "real_vs_real": {"metrics": {}}}}
    add_reference_point(report, "l1_only", "L1 only", other)
    assert report["reference_points"]["l1_only"]["metrics"] == {"l1": {"mean": 0.1}, "fid": {"value": 3.0}}
    assert format_table(report).splitlines()[0].split()[2:] == ["samples", "real", "vs", "real", "identity", "l1",
                                                                "only"]
