import math

import pytest
import torch

from ros2_vid2world.planning import CEM, CEMConfig, PlanningError

H, A = 3, 2


def make_cem(**overrides):
    settings = dict(
        action_dim=A, horizon=H, population=64, elites=8, iterations=15, low=-1.0, high=1.0, seed=0
    )
    settings.update(overrides)
    return CEM(**settings)


def bowl(target):
    """Quadratic bowl with its minimum at target [H, A]: candidates [N, H, A] -> [N]."""
    return lambda candidates: ((candidates - target) ** 2).sum(dim=(1, 2))


class Recorder:
    """A cost function that keeps every population it was asked to score."""

    def __init__(self, cost_fn):
        self.cost_fn = cost_fn
        self.seen = []

    def __call__(self, candidates):
        self.seen.append(candidates.clone())
        return self.cost_fn(candidates)


def test_kwargs_signature_and_from_config_agree():
    by_kwargs = CEM(A, H, 16, 4, 2, -1.0, 1.0, momentum=0.2, init_std=0.4, min_std=0.1, seed=3)
    by_config = CEM.from_config(CEMConfig(A, H, 16, 4, 2, -1.0, 1.0, 0.2, 0.4, 0.1, 3))
    assert by_kwargs.config == by_config.config
    target = torch.full((H, A), 0.3)
    torch.testing.assert_close(by_kwargs.optimize(bowl(target))[0], by_config.optimize(bowl(target))[0])


def test_converges_to_optimum_inside_bounds():
    target = torch.tensor([[0.5, -0.3], [0.1, 0.7], [-0.6, 0.2]])
    mean, info = make_cem(iterations=20).optimize(bowl(target))
    torch.testing.assert_close(mean, target, atol=0.05, rtol=0)
    torch.testing.assert_close(info.best_sequence, target, atol=0.1, rtol=0)
    assert info.best_cost == min(info.best_costs)
    assert info.best_costs[-1] < info.best_costs[0]


def test_optimum_outside_bounds_gives_clipped_optimum():
    low, high = torch.tensor([-1.0, 0.0]), torch.tensor([1.0, 0.5])
    half_range = (high - low) / 2
    # Every coordinate of the optimum lies outside the bounds (above or below), so the answer is a corner.
    target = torch.tensor([[2.0, -1.0], [-3.0, 0.75], [1.5, 4.0]])
    # Normalised per dimension so that the narrow dimension matters as much as the wide one.
    recorder = Recorder(lambda c: (((c - target) / half_range) ** 2).sum(dim=(1, 2)))
    cem = make_cem(low=low.tolist(), high=high.tolist(), init_std=1.0, iterations=20)
    mean, info = cem.optimize(recorder)
    clipped = torch.maximum(torch.minimum(target, high), low)
    # The std floor keeps sampling around the mean, so the mean rests within a couple of floors of the bound.
    assert ((mean - clipped).abs() <= 2 * 0.05 * half_range).all()
    assert ((mean >= low) & (mean <= high)).all()
    for seen in recorder.seen:
        assert ((seen >= low) & (seen <= high)).all()


def test_std_never_below_floor():
    # A sharp bowl would collapse an unfloored std to ~0 in a few iterations.
    cem = make_cem(low=-2.0, high=2.0, min_std=0.1, momentum=0.0, iterations=25, elites=2)
    mean, info = cem.optimize(lambda c: 1e3 * (c**2).sum(dim=(1, 2)))
    floor = 0.1 * 2.0  # min_std is a fraction of the half-range (high - low) / 2
    assert (info.final_std >= floor - 1e-6).all()
    assert min(info.stds) >= floor - 1e-6
    assert info.stds[0] < 0.5 * 2.0  # it did shrink from init_std towards the floor


def test_previous_mean_is_among_candidates():
    # With one elite and no momentum, the mean after an iteration is that iteration's winner.
    init = torch.full((H, A), 0.4)
    recorder = Recorder(bowl(torch.zeros(H, A)))
    _, info = make_cem(elites=1, momentum=0.0, iterations=6).optimize(recorder, init_mean=init)
    assert torch.equal(recorder.seen[0][0], init)
    for previous, current in zip(recorder.seen, recorder.seen[1:], strict=False):
        winner = previous[bowl(torch.zeros(H, A))(previous).argmin()]
        assert (current == winner).all(dim=(1, 2)).any()
    # ...so the best cost of each iteration can never get worse.
    assert all(b <= a for a, b in zip(info.best_costs, info.best_costs[1:], strict=False))


def test_init_mean_outside_bounds_is_clipped():
    recorder = Recorder(bowl(torch.zeros(H, A)))
    make_cem(iterations=1).optimize(recorder, init_mean=torch.full((H, A), 5.0))
    assert torch.equal(recorder.seen[0][0], torch.ones(H, A))


def test_nan_costs_never_win():
    target = torch.zeros(H, A)

    def cost(candidates):
        costs = bowl(target)(candidates)
        near = (candidates - target).abs().amax(dim=(1, 2)) < 0.3
        return torch.where(near, torch.nan, costs)

    recorder = Recorder(cost)
    mean, info = make_cem(iterations=10).optimize(recorder)
    assert sum(info.nonfinite_counts) > 0  # the NaN region was actually sampled
    assert math.isfinite(info.best_cost) and all(math.isfinite(c) for c in info.best_costs)
    assert (info.best_sequence - target).abs().max() >= 0.3
    assert info.best_cost == pytest.approx(cost(info.best_sequence[None]).item())


def test_nonfinite_candidates_are_left_out_of_the_refit():
    # Only candidates 1 and 2 get finite costs (one +inf, one -inf, the rest NaN): with elites=5 and no
    # momentum, the next mean must be their average, not pulled by the others.
    def cost(candidates):
        costs = torch.full((candidates.shape[0],), torch.nan)
        costs[1], costs[2], costs[3], costs[4] = 1.0, 2.0, math.inf, -math.inf
        return costs

    recorder = Recorder(cost)
    make_cem(elites=5, momentum=0.0, iterations=2).optimize(recorder)
    first = recorder.seen[0]
    torch.testing.assert_close(recorder.seen[1][0], (first[1] + first[2]) / 2)


def test_all_nan_costs_raise():
    with pytest.raises(ValueError, match="all 64 costs at iteration 0 are NaN or infinite"):
        make_cem().optimize(lambda c: torch.full((c.shape[0],), torch.nan))


def test_cost_fn_that_raises_gives_planning_error_with_iteration():
    calls = []

    def cost(candidates):
        calls.append(1)
        if len(calls) == 3:
            raise KeyError("model exploded")
        return bowl(torch.zeros(H, A))(candidates)

    with pytest.raises(
        PlanningError, match=r"cost function raised at iteration 2: KeyError: 'model exploded'"
    ) as err:
        make_cem().optimize(cost)
    assert isinstance(err.value, RuntimeError)
    assert isinstance(err.value.__cause__, KeyError)


@pytest.mark.parametrize(
    "bad_cost, message",
    [
        (lambda c: torch.zeros(c.shape[0], 1), r"expected shape \[N\] = \[64\]. Got shape \[64, 1\]"),
        (lambda c: torch.zeros(c.shape[0] - 1), r"expected shape \[N\] = \[64\]. Got shape \[63\]"),
    ],
)
def test_wrong_cost_shape_is_named(bad_cost, message):
    with pytest.raises(ValueError, match=message):
        make_cem().optimize(bad_cost)


def test_cost_fn_returning_non_tensor_is_named():
    with pytest.raises(TypeError, match=r"torch.Tensor of shape \[N\]"):
        make_cem().optimize(lambda c: [0.0] * c.shape[0])


def test_wrong_init_mean_shape_is_named():
    with pytest.raises(ValueError, match=r"`init_mean` must have shape \[H, A\] = \[3, 2\]. Got \[2, 3\]"):
        make_cem().optimize(bowl(torch.zeros(H, A)), init_mean=torch.zeros(2, 3))


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"elites": 0}, r"`elites` must be an integer >= 1. Got 0"),
        ({"elites": 65}, r"`elites` must be in \[1, population\]. Got 65"),
        ({"population": 1, "elites": 1}, r"`population` must be an integer >= 2. Got 1"),
        (
            {"low": [0.0, 1.0], "high": [1.0, 0.5]},
            r"`low` must be <= `high`.*low=\[0.0, 1.0\] high=\[1.0, 0.5\]",
        ),
        ({"low": [0.0, 0.0, 0.0]}, r"`low` must be one float or 2 floats"),
        ({"high": math.inf}, r"`high` must be finite"),
        ({"momentum": 1.0}, r"`momentum` must be in \[0, 1\)"),
        ({"init_std": 0.0}, r"`init_std` must be a finite number > 0"),
        ({"min_std": 0.6}, r"`min_std` must be in \[0, init_std=0.5\]"),
        ({"horizon": 0}, r"`horizon` must be an integer >= 1"),
    ],
)
def test_bad_config_is_named(overrides, message):
    with pytest.raises(ValueError, match=message):
        make_cem(**overrides)


def test_seed_makes_results_reproducible():
    target = torch.full((H, A), 0.2)
    a_mean, a_info = make_cem(seed=7, iterations=3).optimize(bowl(target))
    b_mean, b_info = make_cem(seed=7, iterations=3).optimize(bowl(target))
    c_mean, _ = make_cem(seed=8, iterations=3).optimize(bowl(target))
    assert torch.equal(a_mean, b_mean) and a_info.best_costs == b_info.best_costs
    assert not torch.equal(a_mean, c_mean)


def test_one_call_per_iteration_with_whole_population():
    recorder = Recorder(bowl(torch.zeros(H, A)))
    make_cem(iterations=5, population=32).optimize(recorder)
    assert len(recorder.seen) == 5
    assert all(seen.shape == (32, H, A) for seen in recorder.seen)


def test_device_and_dtype_follow_init_mean():
    recorder = Recorder(bowl(torch.zeros(H, A, dtype=torch.float64)))
    mean, info = make_cem(iterations=2).optimize(recorder, init_mean=torch.zeros(H, A, dtype=torch.float64))
    assert mean.dtype == torch.float64 and recorder.seen[0].dtype == torch.float64
    assert info.best_sequence.dtype == torch.float64 and mean.device.type == "cpu"
