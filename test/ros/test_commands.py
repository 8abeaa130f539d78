"""Commands are clamped to the bounds and shaped for their controller; holds mean "stay"."""

import numpy as np
import pytest
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from ros2_vid2world.ros.commands import CommandBuilder


def builder(command_type="float64_multi_array", hold_mode="zero"):
    return CommandBuilder(command_type, ["j1", "j2"], [-0.5, -1.0], [0.5, 0.25], 0.2, hold_mode)


def test_float64_multi_array_carries_the_clamped_action():
    msg = builder().command(np.array([0.9, -3.0]), np.array([[0.9, -3.0], [0.0, 0.0]]))
    assert isinstance(msg, Float64MultiArray)
    assert list(msg.data) == [0.5, -1.0]


def test_joint_trajectory_carries_the_clamped_horizon_with_names_and_times():
    sequence = np.array([[0.1, 0.2], [0.7, -0.3], [-0.6, 0.5]])
    msg = builder("joint_trajectory").command(sequence[0], sequence)
    assert isinstance(msg, JointTrajectory)
    assert list(msg.joint_names) == ["j1", "j2"]
    assert msg.header.stamp.sec == 0 and msg.header.stamp.nanosec == 0  # "start now"
    assert [list(point.positions) for point in msg.points] == [[0.1, 0.2], [0.5, -0.3], [-0.5, 0.25]]
    times = [point.time_from_start.sec + point.time_from_start.nanosec * 1e-9 for point in msg.points]
    assert times == pytest.approx([0.2, 0.4, 0.6])


def test_zero_hold_is_zeros_and_position_hold_is_the_current_position_unclamped():
    joints = np.array([0.9, -0.2])
    assert list(builder(hold_mode="zero").hold(joints).data) == [0.0, 0.0]
    assert list(builder(hold_mode="current_position").hold(joints).data) == [0.9, -0.2]
    trajectory = builder("joint_trajectory").hold(joints)
    assert len(trajectory.points) == 1
    assert list(trajectory.points[0].positions) == [0.9, -0.2]
    assert list(trajectory.points[0].velocities) == [0.0, 0.0]


@pytest.mark.parametrize("joints", [None, np.array([np.nan, 0.0])])
def test_a_position_hold_without_finite_positions_cannot_be_built(joints):
    assert builder(hold_mode="current_position").hold(joints) is None
    assert builder("joint_trajectory").hold(joints) is None
    assert builder(hold_mode="zero").hold(joints) is not None
