"""text_gan's conditioning path: the char encoder's embedding has a scale the generator reads, and an encoder
trained by the matching objective alone stays fixed once a phase switches that objective off."""

import numpy as np
import pytest

from kgan.errors import ConfigError

from test_text_gan import TINY

CAPTIONS = np.array(["a thin seven", "a thick two", "1, bold, leaning right", "the digit zero, small"], object)
PLAIN = {"embed_dim": 8, "text_dim": 8, "encoder_width": 4, "max_length": 32}  # no GAN-INT, no augmentation
PHASES = [{"name": "pretrain", "steps": 2, "terms": {"d_cls": 0, "g_adv": 0}},  # the encoder alone
          {"name": "gan", "steps": 2, "terms": {"match": 0}}]


def _config(**options):
    from kgan.config import from_dict

    return from_dict({**TINY, "model": {**TINY["model"], "options": {**PLAIN, **options}},
                      "train": {**TINY["train"], "steps": 4, "phases": PHASES}})


def test_char_embedding_has_unit_sized_components_and_moves_the_generator():
    from kgan.models import build_gan

    gan = build_gan(_config())
    assert gan.GROUPS["discriminator"] == ("discriminator", "text_encoder", "image_encoder")  # the default: with D
    embedding = np.asarray(gan.text_encoder(CAPTIONS))
    np.testing.assert_allclose(np.linalg.norm(embedding, axis=-1), np.sqrt(8), rtol=1e-5)
    z = np.random.default_rng(0).standard_normal((len(CAPTIONS), 4)).astype("float32")
    images = np.asarray(gan.generator({"z": z, "embedding": embedding}))
    other_text = np.asarray(gan.generator({"z": z, "embedding": np.roll(embedding, 1, axis=0)}))
    other_z = np.asarray(gan.generator({"z": np.roll(z, 1, axis=0), "embedding": embedding}))
    # untrained, a caption already changes the image about as much as the latent does (a raw GRU state ~1e-3 did not)
    assert np.abs(images - other_text).mean() > 0.2 * np.abs(images - other_z).mean()


def _trainable(network) -> list:
    return [v.numpy() for v in network.trainable_variables]


def _changed(before, after) -> bool:
    return any(not np.array_equal(a, b) for a, b in zip(before, after))


def _run_phases(cfg):
    """The trainable weights of each network before training and after each phase (two steps each)."""
    from kgan import phases
    from kgan.data.features import feature_dataset
    from kgan.training import build_compiled, enter_phase

    gan = build_compiled(cfg)
    data = feature_dataset(cfg.data, seed=0, split="train")
    names = ("text_encoder", "discriminator", "generator")
    snapshots = [{n: _trainable(getattr(gan, n)) for n in names}]
    for phase in phases.plan(cfg):
        enter_phase(gan, cfg, phase)
        gan.fit(data, steps_per_epoch=2, epochs=1, verbose=0)
        snapshots.append({n: _trainable(getattr(gan, n)) for n in names})
    return gan, snapshots


@pytest.fixture(scope="module")
def match_only():
    return _run_phases(_config(encoder_updates="match"))


def test_match_pretrained_encoder_is_its_own_group_and_stays_fixed_after(match_only):
    gan, (start, pretrained, trained) = match_only
    assert list(gan.GROUPS) == ["text_encoder", "discriminator", "generator"]
    assert set(gan.GROUPS["text_encoder"]) == {"text_encoder", "image_encoder"}
    # the matching phase trains the encoder and nothing else
    assert _changed(start["text_encoder"], pretrained["text_encoder"])
    assert not _changed(start["discriminator"], pretrained["discriminator"])
    assert not _changed(start["generator"], pretrained["generator"])
    # then the GAN trains D and G; D's loss does not reach the encoder, which stays exactly as pretrained
    assert _changed(pretrained["discriminator"], trained["discriminator"])
    assert _changed(pretrained["generator"], trained["generator"])
    assert not _changed(pretrained["text_encoder"], trained["text_encoder"])


def test_encoder_updates_is_checked():
    with pytest.raises(ConfigError, match="model.options.encoder_updates: 'discriminator' is not allowed"):
        _config(encoder_updates="discriminator")
    with pytest.raises(ConfigError, match="encoder_updates: 'match' .* needs match_weight > 0"):
        _config(encoder_updates="match", match_weight=0.0)


def test_class_conditional_baseline_runs_without_the_encoder_phases():
    from kgan.models.registry import baseline_config

    _, baseline = baseline_config(_config(encoder_updates="match"), "cgan")
    assert not baseline.train.phases and baseline.train.steps == 4  # its terms have no `match` to switch off
    assert baseline.model.options["encoder"] == "digit"
