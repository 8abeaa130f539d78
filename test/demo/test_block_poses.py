"""The pushed block's angle error from sim_node's pose messages, matched to steps by their stamps."""

import math
from types import SimpleNamespace

import pytest

from ros2_vid2world.demo.block_poses import BlockPoses, angle_between, pose_yaw
from ros2_vid2world.sim.planar_pose import yaw_quaternion


def pose_message(yaw: float):
    x, y, z, w = yaw_quaternion(yaw)
    return SimpleNamespace(pose=SimpleNamespace(orientation=SimpleNamespace(x=x, y=y, z=z, w=w)))


@pytest.mark.parametrize("yaw", [0.0, 1.0, -2.5, math.pi - 1e-6])
def test_the_yaw_comes_back_from_the_sims_quaternion(yaw):
    assert pose_yaw(pose_message(yaw)) == pytest.approx(yaw)


def test_angle_errors_are_per_step_against_the_episodes_goal_and_wait_for_every_pose():
    poses = BlockPoses()
    start, period = 5_000_000_000, 200_000_000
    stamps = [start + k * period for k in range(3)]
    poses.goal_yaws[start] = math.pi - 0.1
    poses.yaws[stamps[0]] = -math.pi + 0.2  # 0.3 rad from the goal, across +-pi
    poses.yaws[stamps[1]] = math.pi - 0.15
    assert poses.angle_errors(start, stamps) is None  # the last step's pose has not come yet
    poses.yaws[stamps[2]] = math.pi - 0.1
    assert poses.angle_errors(start, stamps) == pytest.approx([0.3, 0.05, 0.0])
    assert poses.angle_errors(start + 1, stamps) is None  # another episode's goal
    poses.yaws[start - period] = 0.0  # from the episode before
    poses.forget_before(start)
    assert min(poses.yaws) == start and poses.angle_errors(start, stamps) is not None


def test_angle_between_is_the_shorter_way_round():
    assert angle_between(0.1, -0.1) == pytest.approx(0.2)
    assert angle_between(3.0, -3.0) == pytest.approx(2 * math.pi - 6.0)
