"""What the CPU can do, for precision choices and for every run's and benchmark's record.

bfloat16 pays off on a CPU only with native kernels (AVX512_BF16 or AMX); without them TensorFlow emulates
it, and Keras' `mixed_bfloat16` policy made the TF DCGAN tutorial's step about 12x slower than float32 on an
AVX2-only machine. So `train.mixed_precision = "mixed_bfloat16"` is refused on such a CPU (no GPU visible)
unless `train.allow_emulated_bfloat16` says to run anyway. TensorFlow-free: reads /proc/cpuinfo.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

from kgan.errors import ConfigError

CPUINFO = Path("/proc/cpuinfo")
NATIVE_BF16 = ("avx512_bf16", "amx_bf16")
REPORTED = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def _cpuinfo_field(text: str, field: str) -> str:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == field:
            return value.strip()
    return ""


def _cpuinfo() -> str:
    try:
        return CPUINFO.read_text()
    except OSError:  # not Linux: no flags known
        return ""


def cpu_flags(cpuinfo: str | None = None) -> frozenset[str]:
    """The instruction-set flags of the first processor in /proc/cpuinfo (empty where there is none)."""
    return frozenset(_cpuinfo_field(_cpuinfo() if cpuinfo is None else cpuinfo, "flags").split())


def native_bfloat16(flags: frozenset[str]) -> bool:
    return any(flag in flags for flag in NATIVE_BF16)


def describe(cpuinfo: str | None = None) -> dict:
    """run.json's and the benchmarks' record of the machine: model name, cores, the flags that set speed."""
    text = _cpuinfo() if cpuinfo is None else cpuinfo
    flags = cpu_flags(text)
    return {"model": _cpuinfo_field(text, "model name") or platform.processor() or platform.machine(),
            "cores": os.cpu_count(), "flags": [f for f in REPORTED if f in flags],
            "native_bfloat16": native_bfloat16(flags)}


def summary_line(info: dict | None = None) -> str:
    info = info or describe()
    return (f"CPU: {info['model']}, {info['cores']} cores, flags {' '.join(info['flags']) or 'unknown'}, "
            f"bfloat16 {'native' if info['native_bfloat16'] else 'emulated'}")


def check_precision(policy: str, allow_emulated_bfloat16: bool, gpu_visible: bool,
                    flags: frozenset[str] | None = None) -> None:
    """Refuse `mixed_bfloat16` where it would be emulated (CPU without native bf16, no GPU)."""
    flags = cpu_flags() if flags is None else flags
    if policy != "mixed_bfloat16" or gpu_visible or allow_emulated_bfloat16 or native_bfloat16(flags):
        return
    raise ConfigError("train.mixed_precision = 'mixed_bfloat16': this CPU has no native bfloat16 "
                      f"({' / '.join(NATIVE_BF16)} not in /proc/cpuinfo), so it would be emulated and many times "
                      "slower than float32; use '' (float32), or set train.allow_emulated_bfloat16 = true to run anyway")
