"""Baseline episodes on ReacherEnv: seeded, bounded, recorded step by step."""

import numpy as np
import pytest

from ros2_vid2world.demo.random_policy import RandomPolicy
from ros2_vid2world.demo.sim_episodes import run_sim_episode


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
