"""bench/quality_vs_tutorial.py's contenders: named kgan configs from the command line, and a bf16 contender that
is refused (with the reason) on a CPU without native bfloat16 instead of ending the run."""

import sys

import pytest

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import quality_vs_tutorial  # noqa: E402

from kgan import cpu  # noqa: E402
from kgan.config import from_dict  # noqa: E402


def test_kgan_configs_are_name_path_pairs():
    assert quality_vs_tutorial.named_configs("prev=/tmp/a.toml, wide = b.toml,") == {"prev": "/tmp/a.toml",
                                                                                      "wide": "b.toml"}
    assert quality_vs_tutorial.named_configs("") == {}
    for bad in ("prev", "=a.toml", "prev="):
        with pytest.raises(ValueError, match=f"--kgan-configs: '{bad}' is not NAME=PATH"):
            quality_vs_tutorial.named_configs(bad)


def test_bf16_is_refused_with_the_reason_only_where_it_would_be_emulated(monkeypatch):
    bf16 = from_dict({"train": {"mixed_precision": "mixed_bfloat16"}})
    monkeypatch.setattr(cpu, "cpu_flags", lambda cpuinfo=None: frozenset({"avx2", "fma"}))
    assert "this CPU has no native bfloat16" in quality_vs_tutorial.refusal(bf16)
    assert quality_vs_tutorial.refusal(from_dict({})) is None
    assert quality_vs_tutorial.refusal(bf16.replace(**{"train.allow_emulated_bfloat16": True})) is None
    monkeypatch.setattr(cpu, "cpu_flags", lambda cpuinfo=None: frozenset({"avx2", "avx512_bf16"}))
    assert quality_vs_tutorial.refusal(bf16) is None


def test_a_kgan_contender_follows_its_configs_phases_and_stops_at_train_steps(monkeypatch):
    """Trained as `kgan train` would: the first phase's rates, then a linear decay set after every step (3/4 of
    the rate after 1 of its 4 steps, 0 at its end), and no step past train.steps however much time is left."""
    from kgan.training import learning_rate

    cfg = from_dict({"data": {"source": "mnist", "batch_size": 8}, "model": {"name": "dcgan", "latent_dim": 8,
                                                                             "width": 4},
                     "train": {"steps": 6, "g_lr": 1e-3, "d_lr": 2e-3,
                               "phases": [{"steps": 2, "g_lr": 5e-4}, {"steps": 4, "decay": "linear"}]}})
    monkeypatch.setattr(quality_vs_tutorial, "KGAN_CHUNK", 1)
    kgan = quality_vs_tutorial.Kgan("tiny", cfg)
    *critics, generator = kgan.model.GROUPS

    def rates() -> list[float]:
        return [learning_rate(kgan.model.group_optimizers[g]) for g in (*critics, generator)]

    assert [kgan.train(0) for _ in range(2)] == [1, 1]  # no time left: one chunk per call
    assert rates() == pytest.approx([2e-3] * len(critics) + [5e-4])
    assert kgan.train(0) == 1
    assert rates() == pytest.approx([2e-3 * 0.75] * len(critics) + [1e-3 * 0.75])
    assert not kgan.finished
    assert kgan.train(10) == 3 and kgan.finished
    assert rates() == pytest.approx([0.0] * (len(critics) + 1))
    assert kgan.train(10) == 0 and int(kgan.model.steps_done.numpy()) == 6


def test_the_screening_configs_load_and_differ_from_the_default_as_the_readme_says():
    """bench/configs holds the earlier defaults and the screening candidates the README's commands name; each is a
    valid config. The default is the one before it (1b179ff) plus spectral norm in the discriminator, nothing else;
    that one is the candidate lazy8 at 12,000 steps."""
    from kgan.config import load_config

    configs = {p.stem: load_config(p) for p in (REPO / "bench" / "configs").glob("*.toml")}
    assert set(configs) == {"mnist_dcgan_289fea0", "mnist_dcgan_19a3e8b", "mnist_dcgan_1b179ff", "r1lr4dec", "lazy8"}
    default = load_config(REPO / "pipelines" / "mnist_dcgan.toml")
    before = configs["mnist_dcgan_1b179ff"]
    assert before.model.options == {} and default.model.options == {"tricks": ["spectral_norm"]}
    assert before.replace(**{"name": default.name, "model.options": default.model.options}) == default
    lazy8 = configs["lazy8"]
    assert (lazy8.model, lazy8.data) == (before.model, before.data)
    assert (lazy8.train.r1, lazy8.train.r1_every, lazy8.train.g_lr) == (before.train.r1, before.train.r1_every,
                                                                        before.train.g_lr)
    assert (lazy8.train.steps, before.train.steps) == (10_000, 12_000)
    assert configs["r1lr4dec"].train.r1_every == 1 and configs["mnist_dcgan_289fea0"].model.width == 32
