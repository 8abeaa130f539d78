"""Baseline episodes on ReacherEnv and PushEnv: seeded, bounded, recorded step by step."""

import numpy as np
import pytest

from ros2_vid2world.demo.random_policy import RandomPolicy
from ros2_vid2world.demo.sim_episodes import run_sim_episode

from .conftest import behind_the_stem


@pytest.fixture(scope="module")
def env():
    from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv

    env = ReacherEnv(ReacherConfig(image_size=16))
    yield env
    env.close()


def test_a_random_episode_is_recorded_step_by_step_and_repeats_with_its_seed(env):
    policy = RandomPolicy([-3.0, -3.0], [3.0, 3.0])
    first = run_sim_episode(env, policy, index=0, seed=42, max_steps=4)
    again = run_sim_episode(env, policy, index=0, seed=42, max_steps=4)
    other = run_sim_episode(env, policy, index=1, seed=43, max_steps=4)
    assert first.policy == "random" and first.seed == 42
    assert first.steps == 4 or first.success
    assert len(first.distances) == len(first.frames) == len(first.imagined) == first.steps + 1
    assert len(first.actions) == len(first.latencies_s) == first.steps
    assert np.all(np.abs(first.actions) <= 3.0)
    assert first.distances == again.distances and first.actions == again.actions
    assert first.distances[0] != other.distances[0]
    assert first.frames[0].shape == (16, 16, 3)


class ShoulderPolicy:
    """Moves the goal three full-speed shoulder steps ahead, then steps the shoulder at full speed."""

    name = "shoulder"

    def start(self, env, seed):
        env.set_goal(env.observe(render=False).joint_positions + np.array([0.9, 0.0]))

    def act(self, env):
        return np.array([3.0, 0.0]), None


def test_the_episode_stops_at_the_first_success(env):
    record = run_sim_episode(env, ShoulderPolicy(), index=0, seed=3, max_steps=5)
    # 0.3 rad of shoulder moves the fingertip ~5 cm: within the 6 cm success radius after 2 of 3 steps.
    assert record.distances[0] > env.success_radius
    assert record.success_step == 2 and record.steps == 2 and len(record.actions) == 2
    assert record.distances[2] <= env.success_radius < record.distances[1]


@pytest.fixture(scope="module")
def push_env():
    from ros2_vid2world.sim.push_env import PushConfig, PushEnv

    env = PushEnv(PushConfig(image_size=16, control_period=0.2))
    yield env
    env.close()


def test_a_random_push_episode_records_the_blocks_distance_and_angle_error(push_env):
    policy = RandomPolicy([-0.3, -0.3], [0.3, 0.3])
    first = run_sim_episode(push_env, policy, index=0, seed=42, max_steps=3)
    again = run_sim_episode(push_env, policy, index=0, seed=42, max_steps=3)
    assert first.steps == 3 or first.success
    assert len(first.distances) == len(first.angle_errors) == len(first.frames) == first.steps + 1
    assert np.all(np.abs(first.actions) <= 0.3) and np.abs(first.actions).max() > 0.1  # m/s, not [-1, 1]
    assert first.distances == again.distances and first.angle_errors == again.angle_errors
    # What was recorded after the last step is the env's state there.
    assert first.distances[-1] == push_env.goal_distance()
    assert first.angle_errors[-1] == push_env.goal_angle_error()
    assert first.final_angle_error == first.angle_errors[-1]
    record = first.as_dict()
    assert record["final_angle_error_deg"] == pytest.approx(np.degrees(first.angle_errors[-1]), abs=0.01)
    assert len(record["angle_errors_deg"]) == first.steps + 1


class PushAlongPolicy:
    """Puts the pusher behind the block's stem and the goal one push ahead; then pushes at full speed."""

    name = "push_along"

    def start(self, env, seed):
        behind_the_stem(env, goal_ahead=0.05)

    def act(self, env):
        return np.array([0.0, 0.3]), None


def test_a_push_episode_ends_at_the_blocks_success_and_commands_in_m_per_s(push_env):
    record = run_sim_episode(push_env, PushAlongPolicy(), index=0, seed=3, max_steps=5)
    # 0.3 m/s for 0.2 s is 6 cm of pusher travel a step: the block, 5 cm from its goal, is there after 1.
    assert record.distances[0] == pytest.approx(0.05) and record.angle_errors[0] == 0.0
    assert record.success_step == 1 and record.steps == 1
    assert record.distances[1] <= push_env.config.position_tolerance
    assert record.angle_errors[1] <= np.deg2rad(push_env.config.angle_tolerance)
