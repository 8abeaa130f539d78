import pytest
import torch

from ros2_vid2world.planning import (
    ActionMagnitudeCost,
    CEMConfig,
    CompositeCost,
    CostContext,
    CostTerm,
    GoalLatentCost,
    JointGoalCost,
    MPCConfig,
    MPCPlanner,
    PlanningError,
)

GRID = 8


def render(positions: torch.Tensor, sigma: float = 1.5) -> torch.Tensor:
    """Positions [..., 2] (x, y in grid cells) -> Gaussian blobs [..., 1, GRID, GRID]."""
    cells = torch.arange(GRID, dtype=positions.dtype)
    dx = (cells - positions[..., 0:1]) ** 2  # [..., GRID]
    dy = (cells - positions[..., 1:2]) ** 2
    return torch.exp(-(dy[..., :, None] + dx[..., None, :]) / (2 * sigma**2)).unsqueeze(-3)


class PointMass:
    """A point in the plane moved by displacement actions; imagines each rollout as rendered frames."""

    def __init__(self, position):
        self.position = torch.as_tensor(position, dtype=torch.float32)

    def imagine(self, actions: torch.Tensor) -> torch.Tensor:
        """[N, T, 2] -> [N, T, 1, GRID, GRID]: frame k shows the point after actions 0..k."""
        return render(self.position + actions.cumsum(dim=1))

    def step(self, action: torch.Tensor) -> None:
        self.position = self.position + action


def encode_actions(actions: torch.Tensor) -> torch.Tensor:
    """[N, T, A] -> [N, T, A, 2, 2]: each frame holds the action that led to it."""
    return actions[..., None, None].expand(*actions.shape, 2, 2).clone()


class TrackSequenceCost(CostTerm):
    """Mean squared distance to a reference action sequence [T, A] (at model steps)."""

    name = "track"

    def __init__(self, reference, weight=1.0):
        super().__init__(weight)
        self.reference = reference

    def cost(self, latents, candidates, context):
        return ((candidates - self.reference) ** 2).mean(dim=(1, 2))


def config(horizon=4, action_repeat=1, warm_start=True, low=-1.0, high=1.0, action_dim=2, **cem):
    settings = dict(population=64, elites=8, iterations=4, seed=0)
    settings.update(cem)
    cem_config = CEMConfig(action_dim=action_dim, horizon=horizon, low=low, high=high, **settings)
    return MPCConfig(horizon=horizon, cem=cem_config, action_repeat=action_repeat, warm_start=warm_start)


def test_goal_latent_cost_steers_point_mass_to_goal_image():
    world, goal = PointMass([1.0, 1.0]), torch.tensor([5.0, 4.0])
    planner = MPCPlanner(world.imagine, GoalLatentCost(render(goal)), config())
    for _ in range(8):
        world.step(planner.plan().action)
    assert torch.linalg.norm(world.position - goal) < 0.5


def test_joint_goal_cost_steers_joints_to_goal():
    joints, goal = torch.zeros(2), torch.tensor([0.8, -0.5])
    # The final-joint cost alone leaves the split of the motion over the horizon free (the first action
    # could overshoot and the rest come back); a small magnitude term picks the even split.
    cost = CompositeCost([JointGoalCost(goal, action_kind="delta"), ActionMagnitudeCost(weight=0.1)])
    # The latents play no part in the joint cost; the point mass just gives imagine something real to do.
    planner = MPCPlanner(
        lambda actions: render(joints + actions.cumsum(dim=1)),
        cost,
        config(horizon=2, low=-0.2, high=0.2, iterations=6),
    )
    distances = [torch.linalg.norm(goal - joints).item()]
    for _ in range(10):
        joints = joints + planner.plan(CostContext(joints=joints)).action
        distances.append(torch.linalg.norm(goal - joints).item())
    assert all(later < earlier for earlier, later in zip(distances[:5], distances[1:5], strict=False))
    assert distances[-1] < 0.05


def test_warm_start_shifts_and_repeats_last_action_and_reset_drops_it():
    reference = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6], [0.7, 0.8]]).repeat_interleave(2, dim=0)
    first_candidates = []  # the first candidate of each imagine call is the mean CEM started from

    def imagine(actions):
        first_candidates.append(actions[0].clone())
        return encode_actions(actions)

    planner = MPCPlanner(imagine, TrackSequenceCost(reference), config(action_repeat=2, low=-1.0, high=3.0))
    first = planner.plan()
    second_start = len(first_candidates)
    planner.plan()
    expected = torch.cat([first.sequence[1:], first.sequence[-1:]]).repeat_interleave(2, dim=0)
    assert torch.equal(first_candidates[second_start], expected)
    assert torch.equal(expected[-1], first.sequence[-1]) and (expected[-1].abs() > 0.5).all()

    planner.reset()
    third_start = len(first_candidates)
    planner.plan()
    # Without a warm start CEM begins at the middle of the bounds, (-1 + 3) / 2 = 1.
    assert torch.equal(first_candidates[third_start], torch.ones(8, 2))


def test_warm_start_disabled_always_starts_from_middle():
    starts = []
    planner = MPCPlanner(
        lambda a: starts.append(a[0].clone()) or encode_actions(a),
        TrackSequenceCost(torch.full((4, 2), 0.5)),
        config(warm_start=False, iterations=1),
    )
    planner.plan()
    planner.plan()
    assert all(torch.equal(start, torch.zeros(4, 2)) for start in starts)


def test_action_repeat_expands_candidates_before_imagine():
    shapes = []

    def imagine(actions):
        shapes.append(tuple(actions.shape))
        # Each decision step is held for 3 model steps.
        assert torch.equal(actions[:, 0::3], actions[:, 1::3]) and torch.equal(
            actions[:, 0::3], actions[:, 2::3]
        )
        return encode_actions(actions)

    result = MPCPlanner(
        imagine, TrackSequenceCost(torch.zeros(6, 2)), config(horizon=2, action_repeat=3)
    ).plan()
    assert shapes == [(64, 6, 2)] * 4  # one call per CEM iteration, whole population at once
    assert result.sequence.shape == (2, 2) and result.action.shape == (2,)
    assert result.imagined.shape == (6, 2, 2, 2)


@pytest.mark.parametrize("drift", [0.0, 10.0])
def test_imagined_frames_belong_to_the_returned_sequence(drift):
    # With drift, every later imagine call is offset further from the goal, so the best candidate comes
    # from the first iteration: the planner must return that iteration's frames, not the last one's.
    calls = []

    def imagine(actions):
        calls.append(1)
        return encode_actions(actions) + drift * (len(calls) - 1)

    goal = torch.full((2, 2, 2), 0.3)
    cost = GoalLatentCost(goal, mode="discounted")
    result = MPCPlanner(imagine, cost, config(action_repeat=2)).plan()
    best_iteration = result.info.best_iteration
    if drift:
        assert best_iteration == 0
    model_sequence = result.sequence.repeat_interleave(2, dim=0)
    torch.testing.assert_close(
        result.imagined, encode_actions(model_sequence[None])[0] + drift * best_iteration
    )
    assert result.cost == pytest.approx(cost(result.imagined[None], model_sequence[None]).item())
    assert torch.equal(result.action, result.sequence[0])


def test_cost_terms_are_reported_per_iteration():
    terms = CompositeCost(
        [TrackSequenceCost(torch.zeros(4, 2)), GoalLatentCost(torch.zeros(2, 2, 2), weight=0.5)]
    )
    result = MPCPlanner(encode_actions, terms, config(iterations=3)).plan()
    assert set(result.cost_terms) == {"track", "goal_latent"}
    assert all(len(values) == 3 for values in result.cost_terms.values())
    assert result.cost_terms["track"][0] > 0


def test_imagine_with_wrong_shape_is_reported():
    planner = MPCPlanner(lambda a: encode_actions(a)[:, :-1], TrackSequenceCost(torch.zeros(4, 2)), config())
    with pytest.raises(PlanningError, match=r"iteration 0: ValueError: imagine must return latents") as err:
        planner.plan()
    assert isinstance(err.value.__cause__, ValueError)
    assert "[64, 4, C, h, w]. Got [64, 3, 2, 2, 2]" in str(err.value)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MPCConfig(horizon=5, cem=config().cem), r"`horizon` must equal `cem.horizon` = 4. Got 5"),
        (lambda: config(action_repeat=0), r"`action_repeat` must be an integer >= 1. Got 0"),
        (lambda: MPCConfig(horizon=4, cem={"horizon": 4}), "`cem` must be a CEMConfig"),
    ],
)
def test_bad_config_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()
