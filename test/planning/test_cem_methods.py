"""The search methods beside CEM: iCEM (colored noise, kept elites, shrinking population) and MPPI."""

import statistics

import pytest
import torch

from ros2_vid2world.planning import CEM, CEMConfig, MPCConfig, MPCPlanner, PlannerConfig, shift_sequence
from ros2_vid2world.planning.cem import colored_noise, exponential_weights, white_noise
from ros2_vid2world.planning.costs import CostTerm
from ros2_vid2world.ros.node_config import node_config

H, A = 8, 2


def make(method="icem", **overrides):
    settings = dict(
        action_dim=A, horizon=H, population=64, elites=8, iterations=4, low=-1.0, high=1.0, init_std=1.0,
        seed=0, method=method,
    )
    return CEM(**(settings | overrides))


def bowl(target):
    return lambda candidates: ((candidates - target) ** 2).sum(dim=(1, 2))


class Recorder:
    """A cost function that keeps every population it scored, with the costs it gave."""

    def __init__(self, cost_fn):
        self.cost_fn, self.seen, self.costs = cost_fn, [], []

    def __call__(self, candidates):
        costs = self.cost_fn(candidates)
        self.seen.append(candidates.clone())
        self.costs.append(costs.clone())
        return costs


def contains(candidates, rows):
    """Whether every row [H, A] of `rows` is one of `candidates` [N, H, A]."""
    return all((candidates == row).all(dim=(1, 2)).any() for row in rows)


def noise(beta, count, horizon, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return colored_noise(beta, (count, horizon, 1), generator, "cpu", torch.float64)[..., 0]


@pytest.mark.parametrize("beta", [1.0, 2.0, 3.0])
def test_colored_noise_has_the_spectral_slope_beta(beta):
    samples = noise(beta, count=4000, horizon=64)
    power = torch.fft.rfft(samples, dim=1).abs().square().mean(dim=0)
    frequencies = torch.fft.rfftfreq(64, dtype=torch.float64)
    # Between the constant offset and the Nyquist frequency, log power against log f is a line of slope -beta.
    x, y = frequencies[1:-1].log(), power[1:-1].log()
    slope = ((x - x.mean()) * (y - y.mean())).sum() / (x - x.mean()).square().sum()
    assert slope.item() == pytest.approx(-beta, abs=0.1)


def test_colored_noise_of_beta_zero_is_white():
    samples = noise(0.0, count=4000, horizon=64)
    power = torch.fft.rfft(samples, dim=1).abs().square().mean(dim=0)[1:-1]
    assert (power.std() / power.mean()).item() < 0.1  # flat: the spread of 4000-sample averages
    lag1 = (samples[:, 1:] * samples[:, :-1]).mean() / samples.var()
    assert abs(lag1.item()) < 0.02


@pytest.mark.parametrize("horizon", [2, 3, 4, 64])
def test_colored_noise_has_unit_variance_at_every_step(horizon):
    # So that `std` means the same for icem as for cem, whatever the horizon (the colorednoise
    # package's normalisation gives short sequences a larger variance).
    samples = noise(2.0, count=20000, horizon=horizon)
    ones = torch.ones(horizon, dtype=torch.float64)
    torch.testing.assert_close(samples.var(dim=0), ones, atol=0.05, rtol=0)
    # Neighbouring steps move together once the horizon resolves more than one frequency above the
    # constant (below 4 steps every frequency is clamped to 1/H: the noise is white).
    lag1 = (samples[:, 1:] * samples[:, :-1]).mean().item()
    assert lag1 > 0.2 if horizon >= 4 else abs(lag1) < 0.03


def test_icem_reaches_a_bowls_minimum_with_fewer_cost_evaluations_than_cem():
    # A plan that holds one action over the horizon: what a reach toward a goal looks like.
    target = torch.tensor([[0.5, -0.3]]).expand(H, A)

    def evaluations_to(threshold, seed, **settings):
        recorder = Recorder(bowl(target))
        make(seed=seed, iterations=30, **settings).optimize(recorder)
        scored = 0
        for candidates, costs in zip(recorder.seen, recorder.costs, strict=True):
            scored += len(candidates)
            if costs.min() <= threshold:
                return scored
        return None

    cem = [evaluations_to(0.05, seed, method="cem") for seed in range(10)]
    icem = [evaluations_to(0.05, seed, method="icem") for seed in range(10)]
    assert None not in cem and None not in icem  # both reach the same cost...
    assert statistics.median(icem) < 0.8 * statistics.median(cem)  # ...iCEM with fewer evaluations


def test_population_decays_by_the_factor_down_to_the_floor():
    config = CEMConfig(
        A, H, 64, 8, 6, -1.0, 1.0, method="icem", icem_population_decay=2.0, icem_min_population=12
    )
    assert config.populations() == [64, 32, 16, 12, 12, 12]
    recorder = Recorder(bowl(torch.zeros(H, A)))
    _, info = CEM.from_config(config).optimize(recorder)
    assert [len(seen) for seen in recorder.seen] == info.populations == [64, 32, 16, 12, 12, 12]
    cem = CEMConfig(A, H, 64, 8, 3, -1.0, 1.0, method="cem", icem_population_decay=2.0)
    assert cem.populations() == [64] * 3


def test_icem_keeps_the_best_elites_and_the_best_so_far_and_scores_the_mean_last():
    recorder = Recorder(bowl(torch.full((H, A), 0.2)))
    # 0.5 x 8 elites = 4 kept; no momentum, so the mean after an iteration is its elites' average.
    _, info = make(iterations=4, icem_keep_elites=0.5, momentum=0.0).optimize(recorder)
    best_so_far = None
    for i, (candidates, costs) in enumerate(zip(recorder.seen, recorder.costs, strict=True)):
        if i > 0:
            previous, previous_costs = recorder.seen[i - 1], recorder.costs[i - 1]
            assert torch.equal(candidates[:4], previous[previous_costs.argsort()[:4]])
            assert contains(candidates, [best_so_far])
        if i == 3:
            elites = previous[previous_costs.argsort()[:8]]
            torch.testing.assert_close(candidates[4], elites.mean(dim=0))
        if best_so_far is None or costs.min() < bowl(torch.full((H, A), 0.2))(best_so_far[None])[0]:
            best_so_far = candidates[costs.argmin()]
    assert info.kept_elites.shape == (4, H, A)
    assert torch.equal(info.kept_elites, recorder.seen[-1][recorder.costs[-1].argsort()[:4]])


def test_icem_without_kept_elites_still_scores_the_best_so_far():
    # A cost that drifts upward: the first iteration's winner stays the best, so later iterations must
    # score it again although no elite is kept.
    calls = []

    def drifting(candidates):
        calls.append(1)
        return bowl(torch.zeros(H, A))(candidates) + 10.0 * len(calls)

    recorder = Recorder(drifting)
    _, info = make(iterations=3, icem_keep_elites=0.0).optimize(recorder)
    first_best = recorder.seen[0][recorder.costs[0].argmin()]
    assert contains(recorder.seen[1], [first_best]) and contains(recorder.seen[2], [first_best])
    assert info.best_iteration == 0 and info.kept_elites.shape == (0, H, A)


def test_kept_elites_from_the_previous_decision_are_scored_first():
    kept = torch.rand(5, H, A) * 2 - 1
    recorder = Recorder(bowl(torch.zeros(H, A)))
    make(iterations=2).optimize(recorder, kept_elites=kept)
    # 0.3 x 8 elites = 2 are kept: the best two of the five handed over.
    assert torch.equal(recorder.seen[0][:2], kept[:2]) and not contains(recorder.seen[0], kept[2:3])
    # cem has no use for them.
    recorder = Recorder(bowl(torch.zeros(H, A)))
    make(method="cem", iterations=1).optimize(recorder, kept_elites=kept)
    assert not contains(recorder.seen[0], kept[:1])
    with pytest.raises(ValueError, match=r"`kept_elites` must have shape \[k, H, A\] = \[8, 8, 2\]"):
        make().optimize(recorder, kept_elites=torch.zeros(H, A))


class Track(CostTerm):
    name = "track"

    def __init__(self, reference):
        super().__init__(1.0)
        self.reference = reference

    def cost(self, latents, candidates, context):
        return ((candidates - self.reference) ** 2).mean(dim=(1, 2))


@pytest.mark.parametrize("shift", [1, 2, 3])
def test_mpc_carries_the_kept_elites_to_the_next_decision_shifted_by_shift(shift):
    populations = []

    def imagine(actions):
        populations.append(actions.clone())
        return actions[..., None, None]  # [N, H, A, 1, 1]: any latents of the right rank

    cem = CEMConfig(A, 4, 32, 8, 2, -1.0, 1.0, seed=0, method="icem", icem_keep_elites=0.5)
    reference = torch.linspace(-0.5, 0.5, 4)[:, None].expand(4, A)
    planner = MPCPlanner(imagine, Track(reference), MPCConfig(4, cem))
    first = planner.plan()
    kept = first.info.kept_elites
    assert kept.shape == (4, 4, A)
    second_start = len(populations)
    planner.plan(shift=shift)
    expected = shift_sequence(kept, shift)
    assert torch.equal(populations[second_start][:4], expected)
    # The executed steps are gone; the last step is repeated, never padded with zeros.
    assert torch.equal(expected[:, : 4 - shift], kept[:, shift:])
    assert torch.equal(expected[:, -1], kept[:, -1])
    planner.reset()
    assert planner.kept_elites is None and planner.warm_start is None


def test_mppi_weights_sum_to_one_and_a_lower_temperature_concentrates_on_the_best():
    costs = torch.tensor([3.0, 1.0, 2.0, 5.0, float("inf")])
    candidates = torch.zeros(5, H, A)
    best_weights = []
    for temperature in [10.0, 1.0, 0.3, 0.1, 0.01]:
        _, weights = exponential_weights(candidates, costs, temperature)
        assert weights.sum().item() == pytest.approx(1.0)
        assert weights[4] == 0  # a non-finite cost weighs nothing
        assert weights.argmax() == 1 and torch.equal(weights[:4].argsort(), torch.tensor([3, 0, 2, 1]))
        best_weights.append(weights[1].item())
    assert best_weights == sorted(best_weights) and best_weights[-1] > 0.999
    # The weights do not depend on the cost's scale or offset.
    _, scaled = exponential_weights(candidates, 100 * costs + 7, 0.3)
    torch.testing.assert_close(scaled, exponential_weights(candidates, costs, 0.3)[1])
    _, equal = exponential_weights(candidates[:3], torch.ones(3), 0.1)
    torch.testing.assert_close(equal, torch.full((3,), 1 / 3))


def test_mppi_refits_to_the_weighted_mean():
    target = torch.tensor([[0.5, -0.3]]).expand(H, A)
    recorder = Recorder(bowl(target))
    mean, _ = make(method="mppi", iterations=1, momentum=0.0, mppi_temperature=0.2).optimize(recorder)
    _, weights = exponential_weights(recorder.seen[0], recorder.costs[0], 0.2)
    torch.testing.assert_close(mean, (weights[:, None, None] * recorder.seen[0]).sum(dim=0))
    mean, _ = make(method="mppi", iterations=15, mppi_temperature=0.05).optimize(bowl(target))
    torch.testing.assert_close(mean, target, atol=0.05, rtol=0)


@pytest.mark.parametrize("method", ["cem", "icem", "mppi"])
def test_same_seed_same_result(method):
    target = torch.full((H, A), 0.2)
    a_mean, a_info = make(method, seed=7).optimize(bowl(target))
    b_mean, b_info = make(method, seed=7).optimize(bowl(target))
    c_mean, _ = make(method, seed=8).optimize(bowl(target))
    assert torch.equal(a_mean, b_mean) and a_info.best_costs == b_info.best_costs
    assert not torch.equal(a_mean, c_mean)


def test_white_noise_is_what_cem_always_drew():
    generator = torch.Generator().manual_seed(3)
    expected = torch.randn((5, H, A), generator=torch.Generator().manual_seed(3))
    assert torch.equal(white_noise((5, H, A), generator, "cpu", torch.float32), expected)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"icem_beta": 7.0}, r"^`planner.icem_beta` must be in \[0, 5\]. Got 7.0.$"),
        ({"method": "pso"}, r"^`planner.method` must be one of \['cem', 'icem', 'mppi'\]. Got 'pso'.$"),
        ({"icem_keep_elites": 1.5}, r"^`planner.icem_keep_elites` must be in \[0, 1\]. Got 1.5.$"),
        ({"icem_population_decay": 0.5}, r"^`planner.icem_population_decay` must be in \[1, 10\]. Got 0.5.$"),
        ({"mppi_temperature": 0.0}, r"^`planner.mppi_temperature` must be a finite number > 0. Got 0.0.$"),
        (
            {"method": "icem", "population": 12, "elites": 4, "icem_min_population": 5},
            r"^`planner.icem_min_population` must be >= elites \+ 2 = 6 with method icem. Got 5.$",
        ),
        (
            {"method": "icem", "population": 8, "elites": 8},
            r"^`planner.population` must be >= elites \+ 2 = 10 with method icem. Got 8.$",
        ),
    ],
)
def test_bad_settings_give_one_error_naming_the_parameter(overrides, message):
    with pytest.raises(ValueError, match=message):
        node_config({f"planner.{name}": value for name, value in overrides.items()})


def test_the_population_floor_is_an_icem_rule_and_never_above_the_population():
    assert PlannerConfig(population=8, elites=8).method == "cem"  # no room for kept elites: fine for cem
    # The default floor of 16 is above a population of 8: the population then does not shrink.
    assert PlannerConfig(population=8, elites=2, method="icem").populations() == [8, 8, 8]
    lower_floor = PlannerConfig(population=8, elites=2, method="icem", icem_min_population=4)
    assert lower_floor.populations() == [8, 6, 5]
