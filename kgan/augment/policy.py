"""`train.augment`: which augmentation a run uses, parsed and checked without TensorFlow.

Syntax: "" (none), `diffaugment[:OPS]` or `ada[:OPS]`, OPS a comma-separated subset of the policy's ops (all of
them when omitted):
- diffaugment: color, translation, cutout (Zhao et al. 2020's "color,translation,cutout" policy);
- ada: xflip, rotate90, translation, scale, color (Karras et al. 2020's "bgc" pipeline without the arbitrary
  rotation, anisotropic scaling, fractional translation, luma flip and hue rotation).
"""

from __future__ import annotations

from dataclasses import dataclass

from kgan.errors import ConfigError

OPS = {"diffaugment": ("color", "translation", "cutout"),
       "ada": ("xflip", "rotate90", "translation", "scale", "color")}


@dataclass(frozen=True)
class Policy:
    kind: str  # diffaugment | ada
    ops: tuple  # in the order they are applied (colour first, then the geometry)


def parse(spec: str) -> Policy | None:
    """The policy `spec` names, None for ""; a ConfigError naming `train.augment` otherwise."""
    if not spec:
        return None
    kind, colon, listed = spec.partition(":")
    if kind not in OPS:
        raise ConfigError(f"train.augment: {spec!r} is not allowed; expected '', 'diffaugment[:OPS]' or 'ada[:OPS]'")
    names = [name.strip() for name in listed.split(",")] if colon else list(OPS[kind])
    unknown = [name for name in names if name not in OPS[kind]]
    if unknown or len(set(names)) != len(names):
        raise ConfigError(f"train.augment: {spec!r}: {kind} takes distinct ops from {list(OPS[kind])}"
                          + (f", not {unknown[0]!r}" if unknown else ""))
    return Policy(kind, tuple(op for op in OPS[kind] if op in names))


def check(train_cfg) -> None:
    """Refuse a bad `train.augment` at config load (the ADA keys have their ranges in `kgan.config`)."""
    parse(train_cfg.augment)


def engine_options(train_cfg) -> dict:
    """The engine's augmentation arguments from a train section (every family passes them on)."""
    return {"augment": train_cfg.augment, "ada_target": train_cfg.ada_target, "ada_interval": train_cfg.ada_interval,
            "ada_images": train_cfg.ada_images}
