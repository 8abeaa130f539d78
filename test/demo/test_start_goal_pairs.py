"""Which start/goal pairs fold the elbow the other way, or turn the pushed block: read from the simulator's
own resets."""

import numpy as np
import pytest

from ros2_vid2world.demo.start_goal_pairs import (
    PushPair,
    StartGoalPair,
    describe_pairs,
    flip_breakdown,
    turn_breakdown,
)


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


@pytest.fixture(scope="module")
def push_env():
    from ros2_vid2world.sim.push_env import PushConfig, PushEnv

    env = PushEnv(PushConfig(image_size=16, control_period=0.2, goal_source="exploration"))
    yield env
    env.close()


def test_push_pairs_are_the_block_poses_the_episodes_start_and_end_in(push_env):
    seeds = [21, 22, 23]
    pairs = describe_pairs(push_env, seeds)
    assert list(pairs) == seeds and all(isinstance(pair, PushPair) for pair in pairs.values())
    for seed in reversed(seeds):
        observation = push_env.reset(seed)
        pair = pairs[seed]
        assert pair.start_pose == pytest.approx(tuple(observation.object_pose))
        assert pair.goal_pose == pytest.approx(tuple(push_env.goal_object_pose))
        # what the pair asks is what the task measures at the start
        assert pair.travel == pytest.approx(push_env.goal_distance())
        assert pair.turn == pytest.approx(push_env.goal_angle_error())


def test_a_push_pair_says_how_far_the_block_travels_and_turns():
    pair = PushPair(7, (0.10, -0.05, np.pi - 0.1), (0.13, -0.01, -np.pi + 0.2))  # a turn across +-pi
    assert pair.travel == pytest.approx(0.05) and pair.turn == pytest.approx(0.3)
    assert pair.as_dict() == {
        "start_block_pose": {"x_m": 0.1, "y_m": -0.05, "yaw_deg": 174.3},
        "goal_block_pose": {"x_m": 0.13, "y_m": -0.01, "yaw_deg": -168.5},
        "block_travel_m": 0.05,
        "block_turn_deg": 17.2,
    }


def test_turn_breakdown_counts_pairs_that_turn_the_block_past_the_tolerance():
    tolerance = np.deg2rad(20.0)
    pairs = {
        1: PushPair(1, (0.0, 0.0, 0.0), (0.1, 0.0, 0.0)),  # a slide
        2: PushPair(2, (0.0, 0.0, 0.0), (0.1, 0.0, 1.0)),  # a turn of 57 degrees
        3: PushPair(3, (0.0, 0.0, 3.0), (0.0, 0.1, -3.0)),  # 16 degrees across +-pi: a slide
    }
    outcomes = {1: True, 2: False, 3: False, 99: True}
    assert turn_breakdown(pairs, outcomes, tolerance) == {"turn": (0, 1), "slide": (1, 2)}
