"""The oracle: the planner's CEM and image cost with ReacherEnv as the model. It must reach a near goal."""

import numpy as np
import pytest

from ros2_vid2world.demo.oracle_planner import OraclePlanner
from ros2_vid2world.planning.visual_planner import PlannerConfig

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
