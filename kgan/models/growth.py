"""The growth schedule of a growing model (progressive growing), TensorFlow-free: config validation and a helper that
writes the phases.

A growing run is a list of `train.phases`, each with a `resolution`: it starts at a power of two (4 for ProGAN) and
ends at `data.resolution`; every phase that doubles the resolution has `fade = true` (the new block fades in, alpha
0 -> 1 over the phase) and is usually followed by a stabilizing phase at the same resolution. Without phases a
growing model trains at `data.resolution` from the start (fixed-resolution training).
"""

from __future__ import annotations

from kgan.errors import ConfigError


def is_power_of_two(n: int) -> bool:
    return n >= 4 and not n & (n - 1)


def check_schedule(cfg, start: int = 4) -> None:
    """`data.resolution` a power of two; phases: each names its resolution, a power of two in [start,
    data.resolution], never falling, doubling only in a `fade = true` phase, the last at data.resolution."""
    target = cfg.data.resolution
    if not is_power_of_two(target) or target < start:
        raise ConfigError(f"data.resolution: {target} is not possible for {cfg.model.name!r}, which grows from "
                          f"{start}x{start} by doubling; use a power of two >= {start} (32, 64, 128, 256, ...; "
                          "MNIST: data.resolution = 32 with data.resize = 'pad')")
    previous = None
    for i, phase in enumerate(cfg.train.phases):
        where = f"train.phases[{i}]"
        r = phase.get("resolution")
        if r is None:
            raise ConfigError(f"{where}.resolution: every phase of a growing model names its resolution")
        if not is_power_of_two(r) or not start <= r <= target:
            raise ConfigError(f"{where}.resolution: {r} must be a power of two from {start} to data.resolution = "
                              f"{target}")
        grows = previous is not None and r != previous
        if previous is not None and r not in (previous, 2 * previous):
            raise ConfigError(f"{where}.resolution: {r} after {previous}; a growing model keeps its resolution or "
                              "doubles it from one phase to the next")
        if bool(phase.get("fade", False)) != grows:
            raise ConfigError(f"{where}.fade: " + ("a phase that doubles the resolution fades the new block in; set "
                                                   "fade = true" if grows else
                                                   f"only a phase that doubles the resolution can fade (this one "
                                                   f"stays at {r})" if previous is not None else
                                                   "the first phase has nothing to fade in"))
        previous = r
    if previous is not None and previous != target:
        raise ConfigError(f"train.phases: the last phase runs at {previous}, but the served resolution is "
                          f"data.resolution = {target}; grow up to it")


def growing_phases(target: int, fade_steps: int, stable_steps: int, start: int = 4) -> list[dict]:
    """`train.phases` for growing from `start` to `target`: `stable_steps` at `start`, then per doubling a fade phase
    of `fade_steps` and a stabilizing phase of `stable_steps` (ProGAN's schedule; its paper: 800k images each)."""
    phases = [{"name": f"{start}x{start}", "steps": stable_steps, "resolution": start}]
    r = start
    while r < target:
        r *= 2
        phases += [{"name": f"{r}x{r} fade", "steps": fade_steps, "resolution": r, "fade": True},
                   {"name": f"{r}x{r}", "steps": stable_steps, "resolution": r}]
    return phases
