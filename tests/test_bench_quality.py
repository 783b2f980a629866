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
