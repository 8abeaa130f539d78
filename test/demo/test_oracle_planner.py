"""The oracle: the planner's CEM and image cost with ReacherEnv as the model. It must reach a near goal."""

import numpy as np
import pytest

from ros2_vid2world.demo.oracle_planner import OraclePlanner
from ros2_vid2world.planning.visual_planner import PlannerConfig

from .conftest import PUSH_PROBE_STATES, PUSH_PROBE_UNITS, behind_the_stem

MODEL_SIZE = (32, 32)
VELOCITY = 3.0  # rad/s per unit action


@pytest.fixture(scope="module")
def env():
    from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv

    env = ReacherEnv(ReacherConfig(image_size=64))
    yield env
    env.close()


def oracle(**changes) -> OraclePlanner:
    settings = dict(population=32, elites=4, iterations=2, horizon=3, history_frames=2, goal_blur=2.0)
    return OraclePlanner(PlannerConfig(**(settings | changes)), MODEL_SIZE, [-3.0] * 2, [3.0] * 2, VELOCITY)


def near_goal(env, seed: int, offset=(0.6, -0.6)) -> None:
    """Reset to `seed`, then put the goal two full-speed steps away in joint space."""
    observation = env.reset(seed)
    goal = observation.joint_positions + np.asarray(offset)
    goal[1] = np.clip(goal[1], -2.6, 2.6)  # inside the wrist's +-160 degrees
    env.set_goal(goal)
    assert not env.success()


def test_the_oracle_reaches_a_near_goal(env):
    near_goal(env, seed=11)
    planner = oracle()
    planner.start(env, seed=11)
    start, steps = env.finger_to_target_distance(), 0
    while steps < 6 and not env.success():
        action, imagined = planner.act(env)
        assert action.shape == (2,) and np.all(np.abs(action) <= 3.0)
        assert imagined.shape == (*MODEL_SIZE, 3) and imagined.dtype == np.uint8
        env.step(action / VELOCITY)
        steps += 1
    distance = env.finger_to_target_distance()
    assert env.success(), f"{distance:.3f} m from the target after {steps} steps (from {start:.3f} m)"


def test_searching_leaves_the_environment_where_it_was(env):
    near_goal(env, seed=5)
    before = env.get_state()
    planner = oracle(population=8, iterations=1)
    planner.start(env, seed=5)
    planner.act(env)
    after = env.get_state()
    np.testing.assert_array_equal(after.physics, before.physics)
    assert after.step == before.step


def test_act_needs_start(env):
    with pytest.raises(RuntimeError, match="start"):
        oracle().act(env)


def test_the_oracle_scores_with_the_planners_state_probe(env):
    import torch

    from ros2_vid2world.world_model.state_probe import StateProbe

    with pytest.raises(ValueError, match="`probe_weight` is 1.0: the oracle needs a state probe"):
        oracle(probe_weight=1.0)
    torch.manual_seed(0)
    probe = StateProbe(joint_names=["shoulder", "wrist"], periodic=[True, False], image_size=list(MODEL_SIZE))
    planner = OraclePlanner(
        PlannerConfig(population=8, elites=2, iterations=1, horizon=2, history_frames=1, probe_weight=1.0),
        MODEL_SIZE, [-3.0] * 2, [3.0] * 2, VELOCITY, state_probe=probe.eval(),
    )
    env.reset(3)
    planner.start(env, seed=3)
    assert [term.name for term in planner._cost.terms] == ["goal_latent", "state_probe_goal"]
    action, _ = planner.act(env)
    assert action.shape == (2,) and np.all(np.abs(action) <= 3.0)


def test_the_oracle_plans_with_the_planners_method(env):
    near_goal(env, seed=11)
    planner = oracle(method="icem", icem_min_population=8, icem_keep_elites=0.5)
    planner.start(env, seed=11)
    planner.act(env)
    assert planner._cem.config.method == "icem"
    assert planner._kept_elites.shape == (2, 3, 2)  # 0.5 x 4 elites over the horizon of 3, for the next act


# --- the pushing task ------------------------------------------------------------------------------------

PUSH_SIZE = (64, 64)
PUSH_SPEED = 0.3  # m/s per unit action: the pusher's command limit, the planner's action bound


def exact_state_probe():
    """A StateProbe that reads the exact pusher and block states off frames the env rendered (see
    RenderedStates): each frame is looked up by its pixels at the model's size."""
    import torch

    from ros2_vid2world.world_model.state_probe import StateProbe

    class ExactStateProbe(StateProbe):
        def joints(self, images):
            return torch.tensor([self.states[image.numpy().tobytes()] for image in images])

    probe = ExactStateProbe(
        PUSH_PROBE_STATES, [False] * 4 + [True], units=PUSH_PROBE_UNITS, image_size=list(PUSH_SIZE),
        channels=[1, 1], hidden_size=1,
    )
    probe.states = {}  # model frame's pixels -> [pusher_x, pusher_y, object_x, object_y, object_yaw]
    return probe


class RenderedStates:
    """PushEnv whose renders (and goal image) tell the probe the states they show, at the oracle's model
    size and through the oracle's own resize, so the pixels the probe is given match."""

    def __init__(self, env, probe, oracle: OraclePlanner):
        self.env, self.probe, self.oracle = env, probe, oracle
        self._remember(env.goal_image, env.goal_joint_positions, env.goal_object_pose)

    def __getattr__(self, name):
        return getattr(self.env, name)

    def render(self, size=None):
        image = self.env.render(size)
        state = self.env.observe(render=False)
        self._remember(image, state.joint_positions, state.object_pose)
        return image

    def _remember(self, image, pusher, block) -> None:
        self.probe.states[self.oracle.model_frame(image).numpy().tobytes()] = [*pusher, *block]


@pytest.fixture(scope="module")
def push_env():
    from ros2_vid2world.sim.push_env import PushConfig, PushEnv

    env = PushEnv(PushConfig(image_size=64, control_period=0.2))
    yield env
    env.close()


def behind_the_block(env) -> None:
    """The pusher behind the block, the goal 6 cm ahead: one step's travel at full speed."""
    env.reset(5)
    behind_the_stem(env, goal_ahead=0.06)


def push_oracle(probe, **changes) -> OraclePlanner:
    settings = dict(
        population=16, elites=4, iterations=2, horizon=2, history_frames=1, goal_weight=0.0,
        object_weight=100.0, reach_weight=10.0,
    )
    config, bounds = PlannerConfig(**(settings | changes)), ([-PUSH_SPEED] * 2, [PUSH_SPEED] * 2)
    return OraclePlanner(config, PUSH_SIZE, *bounds, PUSH_SPEED, state_probe=probe)


def test_the_oracle_pushes_the_block_toward_its_goal_with_the_object_cost(push_env):
    behind_the_block(push_env)
    probe = exact_state_probe()
    planner = push_oracle(probe)
    env = RenderedStates(push_env, probe, planner)
    planner.start(env, seed=5)
    assert [term.name for term in planner._cost.terms] == ["object_goal"]
    start = push_env.goal_distance()
    for _ in range(2):
        before = push_env.get_state()
        action, imagined = planner.act(env)
        after = push_env.get_state()
        np.testing.assert_array_equal(after.physics, before.physics)  # searching leaves the env as it was
        assert after.step == before.step
        assert action.shape == (2,) and np.all(np.abs(action) <= PUSH_SPEED)
        assert imagined.shape == (*PUSH_SIZE, 3) and imagined.dtype == np.uint8
        push_env.step(action / push_env.velocity_limit)
    assert push_env.goal_distance() < start / 2, f"{push_env.goal_distance():.3f} m from {start:.3f} m"
    assert push_env.success()


def test_the_push_oracle_needs_the_probe_its_weights_read(push_env):
    weights = r"`object_weight` is 100.0, `reach_weight` is 10.0: the oracle needs a state probe"
    with pytest.raises(ValueError, match=weights):
        push_oracle(None)
    behind_the_block(push_env)
    image_only = dict(object_weight=0.0, reach_weight=0.0, goal_weight=1.0, population=8, iterations=1)
    planner = push_oracle(None, **image_only)
    planner.start(push_env, seed=5)  # the image cost alone needs no probe
    action, _ = planner.act(push_env)
    assert np.all(np.abs(action) <= PUSH_SPEED)
