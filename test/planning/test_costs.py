import math

import pytest
import torch

from ros2_vid2world.planning import (
    ActionMagnitudeCost,
    ActionSmoothnessCost,
    CompositeCost,
    CostContext,
    GoalLatentCost,
    JointGoalCost,
    ObjectGoalCost,
    StateProbeGoalCost,
)
from ros2_vid2world.planning.planner_config import PlannerConfig
from ros2_vid2world.planning.planner_costs import planner_costs
from ros2_vid2world.world_model.state_probe import StateProbe

N, H, A, C, S = 4, 3, 2, 2, 5


def random_latents(seed=0):
    return torch.randn(N, H, C, S, S, generator=torch.Generator().manual_seed(seed))


def test_goal_latent_final_picks_the_candidate_whose_final_frame_is_the_goal():
    latents = random_latents()
    goal = torch.randn(C, S, S, generator=torch.Generator().manual_seed(1))
    latents[2, -1] = goal
    latents[3, 0] = goal  # reaching the goal early does not count in "final" mode
    cost = GoalLatentCost(goal, mode="final")(latents, torch.zeros(N, H, A))
    assert cost.argmin().item() == 2
    assert cost[2].item() == 0.0
    torch.testing.assert_close(cost[0], ((latents[0, -1] - goal) ** 2).mean())


def test_goal_latent_discounted_weights_late_frames_more_and_normalises():
    goal = torch.zeros(C, S, S)
    latents = torch.zeros(N, H, C, S, S)
    latents[0, 0] = 1.0  # off the goal at the first frame only
    latents[1, -1] = 1.0  # off the goal at the last frame only
    latents[2] = 1.0  # off the goal at every frame: normalised weights make this exactly 1
    cost = GoalLatentCost(goal, mode="discounted", discount=0.5)(latents, torch.zeros(N, H, A))
    weights = torch.tensor([0.25, 0.5, 1.0]) / 1.75
    torch.testing.assert_close(
        cost, torch.stack([weights[0], weights[-1], torch.tensor(1.0), torch.tensor(0.0)])
    )


def test_action_magnitude_is_mean_squared_action():
    candidates = torch.tensor([[[1.0, -1.0], [2.0, 0.0], [0.0, 0.0]]]).expand(N, H, A)
    torch.testing.assert_close(ActionMagnitudeCost()(None, candidates), torch.full((N,), 1.0))


def test_action_smoothness_includes_previous_action():
    candidates = torch.zeros(N, H, A)
    candidates[1, 1:] = 1.0  # one jump of (1, 1) inside the horizon
    smooth = ActionSmoothnessCost()
    without = smooth(None, candidates)
    # 2 differences x 2 dims per candidate; candidate 1 has one difference of (1, 1): 2 / 4.
    torch.testing.assert_close(without, torch.tensor([0.0, 0.5, 0.0, 0.0]))
    with_previous = smooth(None, candidates, CostContext(previous_action=torch.tensor([1.0, 1.0])))
    # Now there are 3 differences; all candidates start with a jump from (1, 1) to (0, 0).
    torch.testing.assert_close(with_previous, torch.tensor([2 / 6, 4 / 6, 2 / 6, 2 / 6]))
    assert torch.equal(smooth(None, torch.ones(N, 1, A)), torch.zeros(N))  # nothing to compare


def test_joint_goal_delta_integrates_actions_from_current_joints():
    joints, goal = torch.tensor([0.0, 1.0]), torch.tensor([0.6, 0.4])
    candidates = torch.zeros(N, H, A)
    candidates[0] = torch.tensor([0.1, -0.1])  # reaches the goal with dt=2: 3 steps x 0.1 x 2
    candidates[1] = torch.tensor([0.1, 0.1])
    cost = JointGoalCost(goal, action_kind="delta", dt=2.0)(None, candidates, CostContext(joints=joints))
    assert cost.argmin().item() == 0
    torch.testing.assert_close(cost[0], torch.tensor(0.0), atol=1e-6, rtol=0)
    torch.testing.assert_close(cost[1], torch.tensor(0.0**2 + 1.2**2))
    torch.testing.assert_close(cost[2], ((joints - goal) ** 2).sum())


def test_joint_goal_absolute_uses_last_action():
    goal = torch.tensor([0.6, 0.4])
    candidates = torch.zeros(N, H, A)
    candidates[3, -1] = goal
    cost = JointGoalCost(goal, action_kind="absolute")(None, candidates)
    assert cost[3].item() == 0.0 and cost[0].item() == pytest.approx(0.52)


def test_composite_sums_weighted_terms_and_reports_means():
    candidates = torch.randn(N, H, A, generator=torch.Generator().manual_seed(0))
    latents = random_latents()
    goal = torch.zeros(C, S, S)
    terms = [
        GoalLatentCost(goal, weight=2.0),
        ActionMagnitudeCost(weight=0.5),
        ActionSmoothnessCost(weight=0.0),
    ]
    total, means = CompositeCost(terms)(latents, candidates)
    expected = 2.0 * GoalLatentCost(goal)(latents, candidates) + 0.5 * (candidates**2).mean(dim=(1, 2))
    torch.testing.assert_close(total, expected)
    assert set(means) == {"goal_latent", "action_magnitude", "action_smoothness"}
    assert means["action_magnitude"] == pytest.approx(0.5 * (candidates**2).mean().item())
    assert means["action_smoothness"] == 0.0


def test_composite_means_skip_nonfinite_values():
    candidates = torch.ones(N, H, A)
    candidates[0, 0, 0] = math.nan
    total, means = CompositeCost([ActionMagnitudeCost()])(None, candidates)
    assert math.isnan(total[0].item())
    assert means["action_magnitude"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "make_term, latents, candidates, context, message",
    [
        (
            lambda: GoalLatentCost(torch.zeros(C, S, S)),
            None,
            torch.zeros(N, H, A),
            None,
            "needs imagined latents",
        ),
        (
            lambda: GoalLatentCost(torch.zeros(C, S, S)),
            torch.zeros(N, H, C, S + 1, S),
            torch.zeros(N, H, A),
            None,
            r"expected latents of shape \[4, 'H', 2, 5, 5\]. Got \[4, 3, 2, 6, 5\]",
        ),
        (lambda: ActionMagnitudeCost(), None, torch.zeros(N, A), None, r"candidates must be \[N, H, A\]"),
        (
            lambda: ActionSmoothnessCost(),
            None,
            torch.zeros(N, H, A),
            CostContext(previous_action=torch.zeros(3)),
            r"previous_action must be \[A\] = \[2\]",
        ),
        (
            lambda: JointGoalCost(torch.zeros(3)),
            None,
            torch.zeros(N, H, A),
            CostContext(joints=torch.zeros(3)),
            "A must be J = 3",
        ),
        (
            lambda: JointGoalCost(torch.zeros(A)),
            None,
            torch.zeros(N, H, A),
            None,
            r"needs context.joints .* Got None",
        ),
    ],
)
def test_bad_inputs_are_named(make_term, latents, candidates, context, message):
    with pytest.raises(ValueError, match=message):
        make_term()(latents, candidates, context)


@pytest.mark.parametrize(
    "make_term, message",
    [
        (lambda: GoalLatentCost(torch.zeros(S, S)), r"`goal` must be a latent \[C, h, w\]"),
        (lambda: GoalLatentCost(torch.zeros(C, S, S), mode="mean"), "`mode` must be one of"),
        (lambda: GoalLatentCost(torch.zeros(C, S, S), mode="discounted", discount=0.0), "`discount`"),
        (lambda: JointGoalCost(torch.zeros(2), action_kind="velocity"), "`action_kind` must be one of"),
        (lambda: JointGoalCost(torch.zeros(2), dt=0.0), "`dt` must be"),
        (lambda: ActionMagnitudeCost(weight=-1.0), "`weight` of ActionMagnitudeCost"),
        (lambda: CompositeCost([]), "non-empty list of CostTerm"),
        (lambda: CompositeCost([ActionMagnitudeCost(), ActionMagnitudeCost()]), "names must be unique"),
    ],
)
def test_bad_settings_are_named(make_term, message):
    with pytest.raises(ValueError, match=message):
        make_term()


def test_same_term_twice_with_distinct_names():
    terms = [ActionMagnitudeCost(name="small"), ActionMagnitudeCost(weight=2.0, name="smaller")]
    total, means = CompositeCost(terms)(None, torch.ones(N, H, A))
    torch.testing.assert_close(total, torch.full((N,), 3.0))
    assert means == {"small": 1.0, "smaller": 2.0}


def _bar(column: int, size: int = 16) -> torch.Tensor:
    """A one-pixel-wide vertical bar: [C=1, h, w]."""
    image = torch.zeros(1, size, size)
    image[0, 4:12, column] = 1.0
    return image


def test_goal_blur_makes_a_nearer_thin_object_cost_less():
    goal = _bar(4)
    near, far = _bar(6), _bar(12)
    latents = torch.stack([near, far])[:, None]  # [N=2, H=1, 1, h, w]
    candidates = torch.zeros(2, 1, 2)
    raw = GoalLatentCost(goal).cost(latents, candidates, CostContext())
    blurred = GoalLatentCost(goal, blur=2.0).cost(latents, candidates, CostContext())
    torch.testing.assert_close(raw[0], raw[1])  # no overlap either way: raw distance cannot tell
    assert blurred[0] < 0.5 * blurred[1]
    on_goal = GoalLatentCost(goal, blur=2.0).cost(goal[None, None], candidates[:1], CostContext())
    assert on_goal.item() == pytest.approx(0.0, abs=1e-12)


def test_goal_blur_must_not_be_negative():
    with pytest.raises(ValueError, match="`blur` must be >= 0"):
        GoalLatentCost(_bar(4), blur=-1.0)


def test_goal_cost_on_pixel_patches_equals_the_cost_on_pixels():
    goal = torch.rand(3, 16, 16)
    frames = torch.rand(4, 2, 3, 16, 16)
    candidates = torch.zeros(4, 2, 2)
    unfold = torch.nn.functional.pixel_unshuffle
    on_pixels = GoalLatentCost(goal, mode="discounted", blur=1.5).cost(frames, candidates, CostContext())
    on_patches = GoalLatentCost(unfold(goal, 4), mode="discounted", blur=1.5, patch_size=4).cost(
        unfold(frames, 4), candidates, CostContext()
    )
    torch.testing.assert_close(on_patches, on_pixels)
    with pytest.raises(ValueError, match=r"expected latents of shape \[4, 'H', 48, 4, 4\]"):
        GoalLatentCost(unfold(goal, 4), patch_size=4).cost(frames, candidates, CostContext())


def angle_probe(frames):
    """A stand-in probe whose 'image' is its joints: channel 0 holds q0 / pi (periodic), 1 holds q1 / 2.5."""
    q0, q1 = frames[:, 0].mean(dim=(1, 2)) * math.pi, frames[:, 1].mean(dim=(1, 2)) * 2.5
    return torch.stack([torch.cos(q0), torch.sin(q0), q1], dim=1)


def joint_frames(joints):
    """[N, 2] -> [N, 3, S, S] frames whose channels hold the joints (channel 2 unused)."""
    joints = torch.as_tensor(joints, dtype=torch.float32) / torch.tensor([math.pi, 2.5])
    return torch.cat([joints, torch.zeros(len(joints), 1)], dim=1)[:, :, None, None].expand(-1, 3, S, S)


def test_state_probe_goal_cost_is_the_joint_distance_of_the_last_frame():
    def decode(latents):  # [B, 1, C, h, w] -> [B, 1, 3, h, w]: this model's latents are its frames
        return latents

    goal = joint_frames([[3.0, 2.0]])[0]
    finals = [[-3.0, 2.0], [3.0, -2.0], [3.0, 2.0], [0.0, 0.0]]
    latents = joint_frames([[0.0, 0.0]] * N)[:, None].repeat(1, H, 1, 1, 1)
    latents[:, -1] = joint_frames(finals)  # earlier frames do not count
    cost = StateProbeGoalCost(angle_probe, decode, goal, weight=2.0)(latents, torch.zeros(N, H, A))
    expected = [2 - 2 * math.cos(6.0 - 2 * math.pi), 16.0, 0.0, 2 - 2 * math.cos(3.0) + 4.0]
    torch.testing.assert_close(cost, 2.0 * torch.tensor(expected), rtol=1e-5, atol=1e-6)


def test_state_probe_goal_cost_names_bad_shapes():
    goal = joint_frames([[0.0, 0.0]])[0]
    with pytest.raises(ValueError, match=r"`goal` must be a latent \[C, h, w\]"):
        StateProbeGoalCost(angle_probe, lambda x: x, goal[None])
    term = StateProbeGoalCost(angle_probe, lambda x: x, goal)
    with pytest.raises(ValueError, match="needs imagined latents"):
        term(None, torch.zeros(N, H, A))
    with pytest.raises(ValueError, match=r"expected latents of shape \[4, 'H', 3, 5, 5\]"):
        term(torch.zeros(N, H, 3, 6, 6), torch.zeros(N, H, A))


class PushStateReader(StateProbe):
    """A real StateProbe (names, units, state_index) whose reading is exact: frame channel k's mean is
    state k (pusher x, y, object x, y, yaw), for frames [B, 5, 8, 8]."""

    def joints(self, images):
        return images.mean(dim=(2, 3))


PUSH_STATES = ["pusher_x", "pusher_y", "object_x", "object_y", "object_yaw"]


def push_reader(names=PUSH_STATES, units=("m", "m", "m", "m", "rad")):
    return PushStateReader(joint_names=names, periodic=[name.endswith("yaw") for name in names],
                           image_size=[8, 8], units=list(units))


def state_frames(states):
    """[N, 5] -> [N, 5, 8, 8] frames whose channels hold the states."""
    return torch.as_tensor(states, dtype=torch.float32)[:, :, None, None].expand(-1, -1, 8, 8).clone()


def test_object_goal_cost_scores_the_objects_pose_with_turns_as_distance_and_draws_the_pusher_to_it():
    goal = state_frames([[0.2, 0.2, 0.1, 0.0, 0.0]])[0]
    finals = [
        [0.2, 0.2, 0.1, 0.0, 0.0],  # the goal's object, the goal's pusher
        [-0.2, -0.2, 0.1, 0.0, 0.0],  # the goal's object, the pusher elsewhere (not scored)
        [0.1, 0.0, 0.12, 0.0, 0.0],  # 2 cm off, the pusher on the object
        [0.1, 0.0, 0.1, 0.0, math.radians(20)],  # 20 degrees off, the pusher on the object
    ]
    latents = state_frames([[0.0] * 5] * N)[:, None].repeat(1, H, 1, 1, 1)
    latents[:, -1] = state_frames(finals)  # earlier frames do not count
    radius = 0.02 / math.radians(20)
    term = ObjectGoalCost(push_reader(), lambda x: x, goal, object_weight=100.0, yaw_radius=radius)
    cost = term(latents, torch.zeros(N, H, A))
    assert cost[0] == 0 and cost[1] == 0
    # At the task's tolerances a 2 cm shift and a 20 degree turn cost about the same (chord vs arc: 1%).
    torch.testing.assert_close(cost[2], torch.tensor(100 * 0.02**2), rtol=1e-4, atol=0)
    torch.testing.assert_close(cost[3], cost[2], rtol=0.015, atol=0)
    reaching = ObjectGoalCost(push_reader(), lambda x: x, goal, 100.0, radius, reach_weight=10.0)
    with_reach = reaching(latents, torch.zeros(N, H, A))
    # Each adds 10 times the pusher's squared distance from the object's centre (on it: nothing).
    expected = 10 * torch.tensor([0.1**2 + 0.2**2, 0.3**2 + 0.2**2, 0.02**2, 0.0])
    torch.testing.assert_close(with_reach - cost, expected, rtol=1e-4, atol=1e-6)


def test_reach_from_joints_takes_the_pusher_from_the_commands_not_the_imagined_frame():
    """reach_source joints: the pusher ends where the joints plus the commanded velocities x the control
    period put it, whatever the imagined frame shows; the object is still read off the frame."""
    goal = state_frames([[0.0, 0.0, 0.1, 0.0, 0.0]])[0]
    latents = state_frames([[-0.2, -0.2, 0.1, 0.0, 0.0]] * 2)[:, None].repeat(1, 3, 1, 1, 1)  # pusher far
    candidates = torch.zeros(2, 3, 2)
    candidates[1, :, 0] = 0.1  # 3 steps of 0.1 m/s in x at 0.2 s: 6 cm to the right
    joints = torch.tensor([0.04, 0.0])
    term = ObjectGoalCost(push_reader(), lambda x: x, goal, 100.0, 0.05, reach_weight=10.0,
                          reach_source="joints", control_period=0.2)
    cost = term(latents, candidates, CostContext(joints=joints))
    # Object on its goal: only the reach term, from (0.04, 0) and (0.10, 0) to the object at (0.1, 0).
    torch.testing.assert_close(cost, torch.tensor([10 * 0.06**2, 0.0]), rtol=1e-4, atol=1e-7)
    with pytest.raises(ValueError, match=r"reach_source 'joints' needs the current joint positions"):
        term(latents, candidates, CostContext())
    with pytest.raises(ValueError, match=r"`reach_source` must be one of \['imagined', 'joints'\]"):
        ObjectGoalCost(push_reader(), lambda x: x, goal, 1.0, 0.05, reach_source="probe")


def test_reach_offset_draws_the_pusher_behind_the_object_away_from_the_goal():
    """Object at (0.1, 0), goal at (0.3, 0): with a 5 cm offset the reach target is (0.05, 0), where a push
    in +x moves the object to the goal; a pusher on the goal side, at (0.15, 0), is 10 cm from it (5 cm
    from the centre without an offset). On its goal the object has no side: the target is its centre."""
    goal = state_frames([[0.0, 0.0, 0.3, 0.0, 0.0]])[0]
    finals = [[0.05, 0.0, 0.1, 0.0, 0.0], [0.15, 0.0, 0.1, 0.0, 0.0], [0.3, 0.0, 0.3, 0.0, 0.0]]
    latents = state_frames(finals)[:, None].repeat(1, H, 1, 1, 1)
    centre = ObjectGoalCost(push_reader(), lambda x: x, goal, 100.0, 0.05, reach_weight=10.0)
    behind = ObjectGoalCost(push_reader(), lambda x: x, goal, 100.0, 0.05, reach_weight=10.0,
                            reach_offset=0.05)
    candidates = torch.zeros(3, H, A)
    object_cost = torch.tensor([100 * 0.2**2, 100 * 0.2**2, 0.0])
    torch.testing.assert_close(centre(latents, candidates) - object_cost,
                               torch.tensor([10 * 0.05**2, 10 * 0.05**2, 0.0]), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(behind(latents, candidates) - object_cost,
                               torch.tensor([0.0, 10 * 0.1**2, 0.0]), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match=r"`reach_offset` must be a finite number >= 0 \(m\)"):
        ObjectGoalCost(push_reader(), lambda x: x, goal, 1.0, 0.05, reach_offset=-0.01)


def test_object_goal_cost_refuses_a_probe_that_does_not_read_the_task():
    goal = state_frames([[0.0] * 5])[0]
    arm = push_reader(["shoulder", "wrist", "elbow", "hand", "finger"], ["rad"] * 5)
    with pytest.raises(ValueError, match=r"object goal cost needs a state probe that reads \['object_x', "):
        ObjectGoalCost(arm, lambda x: x, goal, 1.0, 0.05)
    one_slider = push_reader(units=("m", "rad", "m", "m", "rad"))
    with pytest.raises(ValueError, match=r"`reach_weight` needs a state probe with exactly two sliding"):
        ObjectGoalCost(one_slider, lambda x: x, goal, 1.0, 0.05, reach_weight=1.0)
    with pytest.raises(ValueError, match=r"need a state probe that reads the object's pose; none was given"):
        planner_costs(PlannerConfig(object_weight=1.0), goal, decode=lambda x: x)
    costs = planner_costs(PlannerConfig(object_weight=1.0, reach_weight=0.5), goal, decode=lambda x: x,
                          state_probe=push_reader())
    assert [term.name for term in costs.terms] == ["goal_latent", "object_goal"]
