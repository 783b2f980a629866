"""StyleGAN: modulated convolutions, truncation in W, style mixing, seeded noise, w_avg, lazy R1, and its served
surface (mix / mapping / synthesis signatures, psi, the noise seed) in a process without kgan."""

import csv
import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import cli

TINY = {"name": "tinysg", "data": {"limit": 64, "batch_size": 16, "resolution": 8, "resize": "resize"},
        "model": {"name": "stylegan", "width": 4, "latent_dim": 8, "options": {"mapping_layers": 2, "max_channels": 8}},
        "train": {"steps": 17, "checkpoint_every": 17, "snapshot_every": 17, "log_every": 1},
        "export": {"warmup_requests": 0}}


def _config(**overrides):
    from kgan.config import from_dict

    return from_dict(TINY).replace(**overrides)


def _model(**overrides):
    from kgan.models import build_gan

    return build_gan(_config(**overrides))


def _noisy(gan, strength=0.5):
    """Give every noise layer a non-zero strength (they start at 0, as in the paper)."""
    for layer in gan.sampler._flatten_layers():
        if hasattr(layer, "strength"):
            layer.strength.assign(np.full(layer.strength.shape, strength, np.float32))
    return gan


@pytest.fixture(scope="session")
def sg_run(tmp_path_factory):
    from kgan.training import train

    root = tmp_path_factory.mktemp("stylegan") / "run"
    train(_config(), root, verbose=False)
    return root


@pytest.fixture(scope="session")
def sg_loaded(sg_run):
    from kgan.training import load_run

    return load_run(sg_run)[1:]


@pytest.fixture(scope="session")
def sg_export(sg_run, tmp_path_factory):
    from kgan.export import export_run

    return export_run(sg_run, "sg", tmp_path_factory.mktemp("sg_models"))


def test_modulated_convolution_equals_adain_style_scaling_on_a_hand_checked_case():
    from kgan.nets.style import ModulatedConv2D

    x = np.random.default_rng(0).standard_normal((2, 3, 3, 2)).astype("float32")
    w = np.zeros((2, 5), "float32")  # the affine map's kernel is zeroed below: the style is its bias alone
    style = np.array([2.0, 0.5], "float32")
    for demodulate in (False, True):
        conv = ModulatedConv2D(2, kernel_size=1, demodulate=demodulate)
        conv.build([x.shape, w.shape])
        conv.kernel.assign(np.diag([1.0, 3.0]).reshape(1, 1, 2, 2) * 2 ** 0.5)  # run-time scale 1/sqrt(2)
        conv.affine.kernel.assign(np.zeros((5, 2), "float32"))
        conv.affine.bias.assign(style)
        out = np.asarray(conv([x, w]))
        if demodulate:  # s_c k_c / |s_c k_c| = 1: demodulation removes the style's scale, as instance norm does
            np.testing.assert_allclose(out, x, rtol=1e-5, atol=1e-6)
        else:  # AdaIN's scaling of channel c by its style y_s,c (times the diagonal weight k_c)
            np.testing.assert_allclose(out, x * style * np.array([1.0, 3.0]), rtol=1e-5)
    # and a 3x3 case against per-example weights s_i W_ijk d_k written out
    conv = ModulatedConv2D(3, kernel_size=3)
    w = np.random.default_rng(1).standard_normal((2, 5)).astype("float32")
    out = np.asarray(conv([x, w]))
    s = np.asarray(conv.affine(w))
    base = np.asarray(conv.kernel) / 18 ** 0.5
    import tensorflow as tf

    for b in range(2):
        weight = base * s[b][None, None, :, None]
        weight /= np.sqrt((weight ** 2).sum(axis=(0, 1, 2)) + 1e-8)
        ref = tf.nn.conv2d(x[b:b + 1], weight, 1, "SAME").numpy()[0]
        np.testing.assert_allclose(out[b], ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("styles", ["adain", "modulated"])
def test_psi_zero_gives_the_w_avg_image_and_noise_seeds_resample_the_noise(styles):
    from kgan.models import surface

    gan = _noisy(_model(**{"model.options.styles": styles}))
    truncation = gan.part("truncation", gan.sampler)
    w_avg = np.random.default_rng(2).standard_normal(truncation.w_avg.shape).astype("float32")
    truncation.w_avg.assign(w_avg)
    z = np.random.default_rng(3).standard_normal((5, 8)).astype("float32")
    same_noise = np.full(5, 7, np.int32)
    images = np.asarray(gan.infer({"z": z, "psi": np.zeros(5, "float32"), "noise_seed": same_noise}))
    latent = gan.intermediate_latent()
    expected = np.asarray(surface.call_network(latent.synthesis, {"w": w_avg[None].repeat(5, 0),
                                                                  "noise_seed": same_noise}))
    np.testing.assert_allclose(images, expected, atol=1e-5)
    np.testing.assert_allclose(images, np.broadcast_to(images[:1], images.shape), atol=1e-5)
    untruncated = np.asarray(gan.infer({"z": z, "psi": np.ones(5, "float32"), "noise_seed": same_noise}))
    assert np.abs(untruncated - untruncated[:1]).max() > 1e-3
    # the same w with new noise seeds: other pixels; the same seed again: the same image, at any batch position
    one = {"z": z[:1].repeat(4, 0), "psi": np.ones(4, "float32"), "noise_seed": np.array([1, 2, 3, 1], np.int32)}
    resampled = np.asarray(gan.infer(one))
    assert np.abs(resampled[0] - resampled[1]).mean() > 1e-3 and np.abs(resampled[1] - resampled[2]).mean() > 1e-3
    np.testing.assert_allclose(resampled[0], resampled[3], atol=1e-6)


def test_mixing_uses_both_latents_split_at_the_crossover():
    gan = _model()
    (_, mix) = gan.served_directions()
    rng = np.random.default_rng(4)
    z_a, z_b, z_c = (rng.standard_normal((2, 8)).astype("float32") for _ in range(3))
    layers = gan.num_layers

    def run(a, b, crossover):
        inputs = {"z_a": a, "z_b": b, "crossover": np.full(2, crossover, np.int32), "psi": np.ones(2, "float32"),
                  "noise_seed": np.array([5, 6], np.int32)}
        return np.asarray(mix.network(inputs))

    mixed = run(z_a, z_b, 2)
    assert np.abs(run(z_c, z_b, 2) - mixed).max() > 1e-4  # the coarse styles come from z_a
    assert np.abs(run(z_a, z_c, 2) - mixed).max() > 1e-4  # the fine ones from z_b
    plain = lambda z: np.asarray(gan.infer({"z": z, "psi": np.ones(2, "float32"),  # noqa: E731
                                            "noise_seed": np.array([5, 6], np.int32)}))
    np.testing.assert_allclose(run(z_a, z_b, layers), plain(z_a), atol=1e-5)  # every layer from A
    np.testing.assert_allclose(run(z_a, z_b, 0), plain(z_b), atol=1e-5)  # every layer from B


def test_progressive_generator_fades_the_new_resolution_in_over_the_previous_one(tmp_path):
    from kgan.models import surface

    phases = [{"steps": 2, "resolution": 4}, {"steps": 2, "resolution": 8, "fade": True}, {"steps": 1, "resolution": 8}]
    gan = _noisy(_model(**{"model.options.progressive": True, "train.phases": phases, "train.steps": 5}))
    inputs = surface.fixed_inputs(gan.inference_inputs(), 3, 0)
    gan.set_resolution(4)
    previous = np.asarray(gan.infer(inputs))  # served at the target size: the 4x4 image, nearest-upsampled
    np.testing.assert_array_equal(previous[:, ::2, ::2], previous[:, 1::2, 1::2])
    gan.set_resolution(8)
    grown = np.asarray(gan.infer(inputs))
    gan.set_resolution(8, fade=(0, 10))
    for alpha, expected in ((0.0, previous), (1.0, grown)):
        for network in gan.growing_networks():
            network.alpha.assign(alpha)
        np.testing.assert_allclose(np.asarray(gan.infer(inputs)), expected, atol=1e-5)
    assert np.abs(grown - previous).max() > 1e-3
    import tensorflow as tf  # a checkpoint holds every variable of the growing generator and its EMA shadow

    path = tf.train.Checkpoint(g=gan.generator, ema=gan.sampler).write(str(tmp_path / "ckpt"))
    stored = {name for name, _ in tf.train.list_variables(path) if name.endswith("VARIABLE_VALUE")}
    assert len(stored) == len(gan.generator.weights) + len(gan.sampler.weights)


def test_w_avg_follows_the_batch_mean_of_w_by_ema():
    gan = _model()
    truncation = gan.part("truncation")
    before = np.random.default_rng(5).standard_normal(truncation.w_avg.shape).astype("float32")
    truncation.w_avg.assign(before)
    gan.fixed_latent = np.random.default_rng(6).standard_normal((4, 8)).astype("float32")
    gan.forward({"image": np.zeros((4, 8, 8, 1), "float32")}, training=True)
    w = np.asarray(gan.part("mapping")(gan.fixed_latent))
    np.testing.assert_allclose(np.asarray(truncation.w_avg), 0.995 * before + 0.005 * w.mean(axis=0), rtol=1e-5,
                               atol=1e-6)
    gan.forward({"image": np.zeros((4, 8, 8, 1), "float32")}, training=False)  # inference leaves it alone
    np.testing.assert_allclose(np.asarray(truncation.w_avg), 0.995 * before + 0.005 * w.mean(axis=0), rtol=1e-5,
                               atol=1e-6)


def test_lazy_r1_runs_every_16_steps_with_the_resolution_gamma(sg_run, sg_loaded):
    gan, step = sg_loaded
    (r1,) = [t for t in gan.terms or gan.loss_terms() if t.name == "r1"]
    assert step == 17 and r1.every == 16 and r1.weight == pytest.approx(0.0002 * 8 ** 2 / 16)
    with open(sg_run / "logs" / "history.csv") as f:
        rows = list(csv.DictReader(f))
    on = [int(row["step"]) for row in rows if float(row["r1"]) != 0.0]
    assert on == [1, 17], on  # the steps whose counter (0, 16) is a multiple of 16
    w_avg = gan.part("truncation", gan.sampler).w_avg.numpy()
    np.testing.assert_array_equal(w_avg, gan.part("truncation").w_avg.numpy())  # the EMA shadow copies the state
    assert np.abs(w_avg).max() > 0  # checkpointed, not the initial zeros


LOADER = textwrap.dedent("""
    import json, sys
    for blocked in ("kgan", "keras", "tf_keras"):
        sys.modules[blocked] = None
    import numpy as np
    import tensorflow as tf

    m = tf.saved_model.load(sys.argv[1])
    z = tf.constant(np.load(sys.argv[2]))
    n = z.shape[0]
    psi, seeds = tf.ones([n]), tf.range(n, dtype=tf.int32)
    out = {"default": m.signatures["serving_default"](z=z, psi=psi, noise_seed=seeds)["images_float"].numpy(),
           "mix": m.signatures["mix"](z_a=z, z_b=z[::-1], crossover=tf.fill([n], 2), psi=psi,
                                      noise_seed=seeds)["images_float"].numpy()}
    for tag, seed, truncation in (("a", 1, 1.0), ("b", 1, 1.0), ("c", 2, 1.0), ("zero", 1, 0.0)):
        out["sample_" + tag] = m.signatures["sample"](num_samples=tf.constant(6), seed=tf.constant(seed),
                                                      truncation=tf.constant(truncation))["images_float"].numpy()
    w = m.signatures["mapping"](z=z)["w"]
    out["synthesis"] = m.signatures["synthesis"](w=w, noise_seed=seeds)["images_float"].numpy()
    out["meta"] = np.array(m.signatures["metadata"]()["json"].numpy().decode())
    assert not [k for k, v in sys.modules.items() if v is not None and k.split(".")[0] in ("kgan", "keras")]
    np.savez(sys.argv[3], **out)
""")


def test_export_serves_psi_mix_sample_and_both_halves_in_a_process_without_kgan(sg_loaded, sg_export, tmp_path):
    gan, _ = sg_loaded
    z = np.random.default_rng(7).standard_normal((4, 8)).astype("float32")
    np.save(tmp_path / "z.npy", z)
    (tmp_path / "load.py").write_text(LOADER)
    proc = subprocess.run([sys.executable, str(tmp_path / "load.py"), str(sg_export), str(tmp_path / "z.npy"),
                           str(tmp_path / "out.npz")], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": "", "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")
    seeds, ones = np.arange(4, dtype=np.int32), np.ones(4, "float32")
    np.testing.assert_allclose(out["default"], gan.infer({"z": z, "psi": ones, "noise_seed": seeds}), atol=1e-5)
    np.testing.assert_allclose(out["synthesis"], out["default"], atol=1e-5)  # psi 1: synthesis(mapping(z))
    (_, mix) = gan.served_directions()
    np.testing.assert_allclose(out["mix"], mix.network({"z_a": z, "z_b": z[::-1], "crossover": np.full(4, 2, np.int32),
                                                        "psi": ones, "noise_seed": seeds}), atol=1e-5)
    np.testing.assert_array_equal(out["sample_a"], out["sample_b"])  # the seed fixes z and the noise
    assert not np.array_equal(out["sample_a"], out["sample_c"])
    zero = out["sample_zero"]  # psi 0: every w is w_avg, only the noise (seeded per row) differs
    assert zero.std(axis=0).mean() < 0.5 * out["sample_a"].std(axis=0).mean()
    meta = json.loads(str(out["meta"]))
    np.testing.assert_allclose(meta["constants"]["w_avg"], gan.part("truncation", gan.sampler).w_avg.numpy(),
                               rtol=1e-6)
    assert meta["style_mixing"]["direction"] == "mix" and meta["intermediate_latent"]["name"] == "w"
    assert {"mix", "sample", "mapping", "synthesis"} <= set(meta["signatures"])


def test_sample_truncation_gallery_sections_and_ppl_in_w_read_the_declarations(sg_loaded, sg_export, tmp_path):
    from kgan.gallery import diversity, sections, styles
    from kgan.gallery.render import not_shown
    from kgan.gallery.source import open_source
    from kgan.metrics.ppl import perceptual_path_length
    from kgan.metrics.sources import from_gan, generator_from_path

    assert cli("sample", str(sg_export), "--n", "4", "--truncation", "0", "--out", str(tmp_path / "s.npy")).returncode == 0
    assert np.load(tmp_path / "s.npy").shape == (4, 8, 8, 1)
    src = open_source(sg_export)
    assert not {"style_mixing", "diversity", "truncation"} & set(not_shown(src))
    writer = sections.Writer(tmp_path, 1)
    mixing = styles.style_mixing_section(src, writer, 0)
    assert [image.src for image in mixing.items[0].items] == ["style_mixing_4.png"]  # 8x8: one boundary, 4 | 8
    specs, generate = src.direction("mix")
    grid = styles.mixing_grid(generate, src.style_mixing, specs, 2, 0)
    assert grid.shape == ((styles.SOURCES + 1) ** 2, 8, 8, 1)
    noise = diversity.diversity_section(src, None, writer, 0)
    assert "noise_seed" in noise.intro and "std map" in noise.items[0].caption
    assert "own truncation" in sections.truncation_section(src, writer, 0).intro

    class Pixels:
        def features(self, pixels):
            return pixels.reshape(len(pixels), -1) / 255.0

    gan, _ = sg_loaded
    results = {name: [perceptual_path_length(generator, Pixels(), 20, batch_size=10, space=space)["mean"]
                      for space in ("z", "w")]
               for name, generator in (("run", from_gan(gan)), ("export", generator_from_path(sg_export)))}
    np.testing.assert_allclose(results["run"], results["export"], rtol=1e-3)  # the same paths, run or export
    assert all(np.isfinite(results["run"]))
    generator = from_gan(gan)
    spread = {}
    for psi in (1.0, 0.0):
        generator.truncation = psi
        spread[psi] = next(generator.batches(16, 16, seed=1)).std(axis=0).mean()
    assert spread[0.0] < 0.5 * spread[1.0]  # metrics score truncated samples through the model's own psi


def test_latent_tools_project_a_stylegan_in_w_from_the_run_and_its_export(sg_loaded, sg_export):
    from kgan.latent_tools.distance import make_distance
    from kgan.latent_tools.project import project
    from kgan.latent_tools.space import from_model, open_latent_model

    gan, _ = sg_loaded
    run, served = from_model(gan), open_latent_model(sg_export)
    for space in (run, served):
        assert (space.latent.name, [s.name for s in space.others]) == ("w", ["noise_seed"])
    truth = run.draw(2, 5)  # z drawn from the seed and mapped to w
    z = np.random.default_rng(5).standard_normal((2, 8)).astype("float32")
    np.testing.assert_allclose(run.to_space({"z": z, "noise_seed": np.zeros(2, np.int32)})["w"],
                               gan.part("mapping", gan.sampler)(z), atol=1e-5)
    np.testing.assert_allclose(served.images(truth), run.images(truth), atol=1e-5)
    targets = run.images(truth)
    near = {**truth, "w": truth["w"] + 0.05 * np.random.default_rng(0).standard_normal(truth["w"].shape)}
    result = project(run, targets, make_distance(run.image_shape), starts=1, steps=60, lr=0.02, initial=near["w"])
    assert result.inputs["w"].shape == truth["w"].shape
    assert result.pixel_mse.max() < 0.5 * np.mean((run.images(near) - targets) ** 2)


def test_config_errors_name_the_field():
    from kgan.config import from_dict
    from kgan.errors import ConfigError
    from kgan.models.registry import validate

    cases = [({"data": {"resolution": 28}}, "data.resolution"), ({"train": {"r1": 10.0}}, "train.r1"),
             ({"model": {"options": {"styles": "both"}}}, "model.options.styles"),
             ({"model": {"options": {"truncation_cutoff": 9}}}, "model.options.truncation_cutoff"),
             ({"model": {"options": {"style_mixing": 2}}}, "model.options.style_mixing"),
             ({"train": {"phases": [{"steps": 17, "resolution": 4}]}}, "train.phases[0].resolution"),
             ({"model": {"options": {"progressive": True}}, "train": {"phases": [{"steps": 17, "resolution": 8,
                                                                                  "fade": True}]}},
              "train.phases[0].fade")]
    for override, field in cases:
        raw = json.loads(json.dumps(TINY))
        for section, values in override.items():
            raw[section].update(values)
        with pytest.raises(ConfigError, match=re.escape(field)):
            validate(from_dict(raw))
