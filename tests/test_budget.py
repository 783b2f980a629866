"""bench/budget.py: training to a time budget, on a fake model and a fake clock (no TensorFlow step), so the
budget logic is checked exactly: chunks sized to the time left, a fade re-planned without a jump in alpha,
growing phases sharing one budget by cumulative deadlines."""

import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import budget  # noqa: E402

PER_STEP, TRACE = 0.5, 10.0  # fake seconds per step, and per trace (the first step after the graph changes)


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class FakeGrowing:
    """Fits by advancing the clock; alpha of every step as `kgan.models.growing` computes it; traces again when the
    resolution or the fading state changes (not when only the fade range does)."""

    def __init__(self, clock):
        self.clock, self.step, self.resolution, self.fade_range = clock, 0, None, None
        self.traced, self.alphas, self.resolutions = False, [], []

    @property
    def steps_done(self):
        return SimpleNamespace(numpy=lambda: np.int64(self.step))  # like a variable

    def set_resolution(self, resolution, fade=None):
        if (resolution, fade is not None) != (self.resolution, self.fade_range is not None):
            self.traced = False
        self.resolution, self.fade_range = resolution, (tuple(fade) if fade is not None else None)

    def fit(self, dataset, steps_per_epoch, epochs, verbose, callbacks=()):
        self.clock.t += (0.0 if self.traced else TRACE) + PER_STEP * steps_per_epoch
        self.traced = True
        for _ in range(steps_per_epoch):
            fading = self.fade_range is not None
            self.alphas.append(budget.alpha_at(self.step, self.fade_range) if fading else 1.0)
            self.resolutions.append(self.resolution)
            self.step += 1
        return SimpleNamespace(history={"loss": [float(self.step)]})


@pytest.fixture
def clock():
    return Clock()


def test_train_until_sizes_chunks_to_the_time_left(clock):
    model = FakeGrowing(clock)
    steps, logs = budget.train_until(model, None, 100.0, 25, clock)
    # 25 steps + trace = 22.5 s, then a chunk at the traced chunk's speed (0.9 s/step), then at 0.5 s/step
    assert clock.t <= 100.0 and 100.0 - clock.t < PER_STEP
    assert steps == model.step == 25 + int((100 - 22.5) / 0.5)
    assert logs == {"loss": float(steps)}


def test_train_until_runs_one_chunk_when_the_trace_eats_the_budget(clock):
    steps, _ = budget.train_until(FakeGrowing(clock), None, 5.0, 25, clock)
    assert steps == 25


def test_train_until_stops_at_its_step_limit_with_time_left(clock):
    model = FakeGrowing(clock)
    assert budget.train_until(model, None, 100.0, 25, clock, limit=60)[0] == model.step == 60
    assert budget.train_until(FakeGrowing(clock), None, 0.0, 25, clock, limit=10)[0] == 10  # limit below a chunk


def test_fade_range_keeps_alpha_and_reaches_one():
    start, end = budget.fade_range(40, 0.3, 70)
    assert budget.alpha_at(40, (start, end)) == pytest.approx(0.3)
    assert budget.alpha_at(110, (start, end)) == pytest.approx(1.0)
    assert budget.alpha_at(75, (start, end)) == pytest.approx(0.65)


@pytest.mark.parametrize("seconds", [200.0, 15.0])
def test_fade_until_rises_continuously_to_one_within_the_budget(clock, seconds):
    model = FakeGrowing(clock)
    model.set_resolution(8, fade=None)
    steps, _ = budget.fade_until(model, None, seconds, 25, 16, clock)
    alphas = np.array(model.alphas)
    assert steps == len(alphas) and model.resolutions == [16] * steps
    assert alphas[0] == pytest.approx(0.0, abs=1e-9) and np.all(np.diff(alphas) >= 0)
    assert budget.alpha_at(model.step, model.fade_range) == pytest.approx(1.0)  # the next phase starts at 1
    if seconds > TRACE + 25 * PER_STEP:
        assert clock.t <= seconds + PER_STEP
        assert np.max(np.diff(alphas)) < 0.05  # no jump: spread over the ~350 steps the time allowed
    else:
        assert steps == 26  # the traced chunk, then one step that completes the fade


def test_train_config_phases_share_one_budget(clock, monkeypatch):
    import kgan.config
    import kgan.data.features
    import kgan.training

    cfg = kgan.config.load_config(budget.__file__.replace("bench/budget.py", "pipelines/mnist_progan.toml"))
    model = FakeGrowing(clock)
    monkeypatch.setitem(budget.CLOCKS, "fake", clock)
    monkeypatch.setattr(budget, "compiled", lambda cfg: (model, "data"))
    monkeypatch.setattr(kgan.training, "enter_phase", lambda *a: None)
    monkeypatch.setattr(kgan.data.features, "feature_dataset", lambda *a, **k: "data")
    ends = []

    def after_phase(m, phase):  # off the clock: the budget does not pay for it
        ends.append((phase.name, clock.t))
        clock.t += 1000.0

    _, steps, minutes = budget.train_config(cfg, 3.0, 25, after_phase=after_phase, clock="fake")
    assert steps == model.step and 180.0 - PER_STEP <= minutes * 60 <= 180.0 + PER_STEP
    assert sorted(set(model.resolutions)) == [4, 8, 16, 32] and model.resolutions[-1] == 32
    assert [name for name, _ in ends] == [p["name"] for p in cfg.train.phases]
    spent = np.array([t for _, t in ends]) - 1000.0 * np.arange(len(ends))
    shares = 180.0 * np.cumsum([p["steps"] for p in cfg.train.phases]) / cfg.train.steps
    # each phase ends by its cumulative deadline, or after its one chunk (trace included) when that is later
    floor = np.concatenate([[0.0], spent[:-1]]) + TRACE + 25 * PER_STEP
    assert np.all(spent <= np.maximum(shares, floor) + PER_STEP)


def test_a_contender_takes_n_critic_batches_per_step():
    """A step of a critic trained n_critic times per generator update takes n_critic batches, as in `kgan train`."""
    from kgan.config import from_dict

    cfg = from_dict({"data": {"source": "mnist", "batch_size": 4}, "model": {"name": "wgan_gp", "latent_dim": 8,
                                                                             "width": 4},
                     "train": {"steps": 2, "n_critic": 3, "gradient_penalty": 10.0}})
    _, dataset = budget.compiled(cfg)
    assert next(iter(dataset))["image"].shape[0] == 12


def test_train_config_sets_a_decaying_phases_rates_every_step(monkeypatch):
    """Only a decaying phase's chunks run with the per-step rates callback (`kgan train` sets them every step)."""
    import kgan.training
    from kgan.config import from_dict

    cfg = from_dict({"data": {"source": "mnist", "batch_size": 4}, "model": {"name": "dcgan", "latent_dim": 8,
                                                                             "width": 4},
                     "train": {"steps": 6, "phases": [{"steps": 2}, {"steps": 4, "decay": "linear"}]}})
    seen = []

    def train_until(model, data, deadline, chunk, now, limit=None, callbacks=()):
        seen.append([(type(c).__name__, c.phase.index) for c in callbacks])
        return 1, {}

    monkeypatch.setattr(budget, "train_until", train_until)
    monkeypatch.setattr(budget, "compiled", lambda cfg: (SimpleNamespace(), "data"))
    monkeypatch.setattr(kgan.training, "enter_phase", lambda *a: None)
    budget.train_config(cfg, 1.0, 5)
    assert seen == [[], [("DecayingRates", 1)]]


def test_phase_data_makes_each_resolutions_batches_once(monkeypatch):
    """A growing model's phases get batches at their own resolution (the first phase's are the ones `compiled`
    made), each resolution's made once and shared by its phases."""
    import kgan.config
    import kgan.data.features
    from kgan import phases

    cfg = kgan.config.load_config(budget.__file__.replace("bench/budget.py", "pipelines/mnist_progan.toml"))
    made = []

    def feature_dataset(data_cfg, **kwargs):
        made.append((kwargs["resolution"], data_cfg.batch_size))
        return ("batches", kwargs["resolution"])

    monkeypatch.setattr(kgan.data.features, "feature_dataset", feature_dataset)
    plan = phases.plan(cfg)
    batches = budget.phase_data(cfg, "first")
    got = [batches(phase) for phase in plan]
    assert got[0] == "first" and plan[0].resolution == 4
    assert [g for g, p in zip(got, plan) if p.resolution == 4] == ["first"] * sum(p.resolution == 4 for p in plan)
    assert all(g == ("batches", p.resolution) for g, p in zip(got, plan) if p.resolution != 4)
    assert sorted(r for r, _ in made) == [8, 16, 32]
    assert {b for _, b in made} == {cfg.data.batch_size * cfg.train.n_critic}
