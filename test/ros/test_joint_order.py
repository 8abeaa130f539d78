"""JointState positions are picked by name, whatever order or extra joints the message has."""

import numpy as np
import pytest

from ros2_vid2world.ros.joint_order import JointOrder


def test_positions_come_out_in_joint_names_order():
    order = JointOrder(["shoulder", "elbow", "wrist"])
    positions = order.positions(["wrist", "gripper", "shoulder", "elbow"], [3.0, 9.0, 1.0, 2.0])
    assert positions.dtype == np.float64
    np.testing.assert_array_equal(positions, [1.0, 2.0, 3.0])


def test_a_second_message_with_another_order_is_reordered_too():
    order = JointOrder(["a", "b"])
    np.testing.assert_array_equal(order.positions(["a", "b"], [1.0, 2.0]), [1.0, 2.0])
    np.testing.assert_array_equal(order.positions(["b", "a"], [2.0, 1.0]), [1.0, 2.0])
    np.testing.assert_array_equal(order.positions(["b", "a"], [5.0, 4.0]), [4.0, 5.0])


def test_nan_passes_through_for_the_safety_check_to_see():
    positions = JointOrder(["a", "b"]).positions(["a", "b"], [float("nan"), 1.0])
    assert np.isnan(positions[0]) and positions[1] == 1.0


@pytest.mark.parametrize(
    "names, positions, match",
    [
        (["a"], [1.0], r"lacks joints \['b'\]"),
        (["a", "b"], [1.0], "2 names but 1 positions"),
        (["a", "b", "a"], [1.0, 2.0, 3.0], "must be unique"),
    ],
)
def test_malformed_messages_raise_value_error(names, positions, match):
    with pytest.raises(ValueError, match=match):
        JointOrder(["a", "b"]).positions(names, positions)


def test_concerns_tells_other_devices_joint_states_apart():
    order = JointOrder(["a", "b"])
    assert order.concerns(["x", "b"])
    assert not order.concerns(["gripper_left", "gripper_right"])


@pytest.mark.parametrize("names, match", [([], "at least one"), (["a", "a"], "must not repeat")])
def test_bad_joint_names_are_refused(names, match):
    with pytest.raises(ValueError, match=match):
        JointOrder(names)
