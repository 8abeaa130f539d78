"""Commands fit the model's action space and stay within the joint limits and the change limit."""

import numpy as np
import pytest

from ros2_vid2world.ros.commands import CommandBuilder


def builder(action_space, command_type="float64_multi_array", limits=None, change=None, hold="zero"):
    return CommandBuilder(
        command_type, ["a", "b"], [-2, -2], [2, 2], 0.1, hold, action_space, limits, change
    )


def test_velocities_are_integrated_into_positions_and_deltas_summed():
    actions = np.array([[1.0, -1.0], [2.0, 0.0]])
    _, positions = builder("joint_velocity").shaped(actions, np.array([0.5, 0.5]))
    np.testing.assert_allclose(positions, [[0.6, 0.4], [0.8, 0.4]])
    _, positions = builder("joint_delta", hold="current_position").shaped(actions * 0.1, np.zeros(2))
    np.testing.assert_allclose(positions, [[0.1, -0.1], [0.3, -0.1]])
    msg = builder("joint_delta", hold="current_position").step_command(actions[0] * 0.1, positions[0])
    assert list(msg.data) == pytest.approx([0.1, -0.1])  # a position target, for a position interface


def test_a_velocity_that_would_cross_a_limit_in_one_period_stops_at_it():
    limits = ([-1.0, -1.0], [1.0, 1.0])
    actions, positions = builder("joint_velocity", limits=limits).shaped(
        np.array([[2.0, -2.0], [2.0, -2.0]]), np.array([0.95, 0.0])
    )
    np.testing.assert_allclose(actions[0], [0.5, -2.0])  # 0.05 rad of room in 0.1 s
    np.testing.assert_allclose(positions[0], [1.0, -0.2])
    np.testing.assert_allclose(actions[1], [0.0, -2.0])  # at the limit: no further
    assert np.all(positions <= 1.0 + 1e-12) and np.all(positions >= -1.0 - 1e-12)


def test_position_targets_are_clipped_into_the_limits():
    limits = ([-0.5, -0.5], [0.5, 0.5])
    actions, positions = builder("joint_position", limits=limits, hold="current_position").shaped(
        np.array([[0.9, -0.2]]), np.zeros(2)
    )
    np.testing.assert_allclose(positions[0], [0.5, -0.2])


def test_the_change_between_consecutive_actions_is_limited():
    actions, _ = builder("joint_velocity", change=[0.5, 0.5]).shaped(
        np.array([[2.0, 0.0], [-2.0, 0.0]]), np.zeros(2), previous=np.array([0.0, 0.0])
    )
    np.testing.assert_allclose(actions, [[0.5, 0.0], [0.0, 0.0]])


def test_velocity_actions_need_no_joints_for_a_velocity_interface_but_deltas_do():
    assert builder("joint_velocity").command(np.array([0.3, 0.1]), np.zeros((1, 2))) is not None
    assert builder("joint_delta", hold="current_position").command(np.array([0.3, 0.1]), None) is None
