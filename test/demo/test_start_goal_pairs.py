"""Which start/goal pairs fold the elbow the other way: read from the simulator's own resets."""

import numpy as np
import pytest

from ros2_vid2world.demo.start_goal_pairs import StartGoalPair, describe_pairs, flip_breakdown


@pytest.fixture
def env():
    from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv

    env = ReacherEnv(ReacherConfig(image_size=16))
    yield env
    env.close()


def test_pairs_are_the_poses_the_episodes_start_and_end_in(env):
    seeds = [11, 12, 13, 14, 15, 16]
    pairs = describe_pairs(env, seeds)
    assert list(pairs) == seeds
    for seed in reversed(seeds):  # the order of resets does not matter: a pair depends on its seed alone
        observation = env.reset(seed)
        pair = pairs[seed]
        assert pair.start_joints == pytest.approx(tuple(observation.joint_positions))
        assert pair.goal_joints == pytest.approx(tuple(env.goal_joint_positions))
        assert pair.elbow_flip == (np.sign(pair.start_joints[1]) != np.sign(pair.goal_joints[1]))
    kinds = {pair.elbow_flip for pair in pairs.values()}
    assert kinds == {True, False}  # these seeds have both kinds, so both branches above were checked


def test_flip_breakdown_counts_each_kind_of_pair():
    pairs = {
        1: StartGoalPair(1, (0.0, 1.0), (0.5, -2.0)),  # flip
        2: StartGoalPair(2, (0.0, -1.0), (0.5, -2.0)),
        3: StartGoalPair(3, (0.0, 2.0), (0.5, 1.0)),
        4: StartGoalPair(4, (0.0, -0.1), (0.5, 0.2)),  # flip
    }
    expected = {"start_joints_rad": [0.0, 1.0], "goal_joints_rad": [0.5, -2.0], "elbow_flip": True}
    assert pairs[1].as_dict() == expected
    outcomes = {1: True, 2: True, 3: False, 4: False, 99: True}  # 99: no pair known, not counted
    assert flip_breakdown(pairs, outcomes) == {"elbow_flip": (1, 2), "same_fold": (1, 2)}
