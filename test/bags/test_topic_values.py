"""rosbags-deserialized messages -> frames, joint positions and action vectors."""

import numpy as np
import pytest

from ros2_vid2world.bags.topic_values import (
    action_vector,
    decode_frame,
    header_stamp_ns,
    joint_positions,
)

from .sim_bags import TYPESTORE, T, float_array_msg, header, image_msg, joint_msg, trajectory_msg


def round_trip(msg, msgtype):
    """Through CDR bytes and back, as a bag reader hands it over (numpy arrays for sequences)."""
    return TYPESTORE.deserialize_cdr(TYPESTORE.serialize_cdr(msg, msgtype), msgtype)


def test_rosbags_image_with_padded_big_endian_16_bit_rows_decodes():
    values = np.array([[0, 257, 65535], [1000, 32768, 40000]], dtype=np.uint16)
    rows = values.astype(">u2").view(np.uint8).reshape(2, 6)
    data = np.concatenate([rows, np.full((2, 4), 0xAB, np.uint8)], axis=1)
    msg = T["sensor_msgs/msg/Image"](
        header=header(5), height=2, width=3, encoding="mono16", is_bigendian=1, step=10, data=data.reshape(-1)
    )
    msg = round_trip(msg, "sensor_msgs/msg/Image")
    decoded = decode_frame(msg, "sensor_msgs/msg/Image")
    np.testing.assert_array_equal(decoded[..., 1], np.rint(values * (255 / 65535)).astype(np.uint8))


def test_decoded_frame_does_not_alias_the_bag_buffer():
    pixels = np.random.default_rng(0).integers(0, 256, (4, 5, 3), dtype=np.uint8)
    msg = round_trip(image_msg(pixels, 1, padding=3), "sensor_msgs/msg/Image")
    decoded = decode_frame(msg, "sensor_msgs/msg/Image")
    assert not np.shares_memory(decoded, msg.data)
    np.testing.assert_array_equal(decoded, pixels)


def test_header_stamp_of_zero_means_unset():
    assert (
        header_stamp_ns(round_trip(joint_msg(3_000_000_123), "sensor_msgs/msg/JointState")) == 3_000_000_123
    )
    assert header_stamp_ns(round_trip(trajectory_msg([1.0]), "trajectory_msgs/msg/JointTrajectory")) is None
    assert header_stamp_ns(float_array_msg([1.0])) is None


def test_joint_positions_follow_the_requested_order_or_give_none():
    msg = round_trip(joint_msg(0, names=["elbow", "shoulder"]), "sensor_msgs/msg/JointState")
    forward = joint_positions(msg, ["elbow", "shoulder"])
    np.testing.assert_array_equal(joint_positions(msg, ["shoulder", "elbow"]), forward[::-1])
    assert joint_positions(msg, ["shoulder", "wrist"]) is None


def test_action_vectors_from_both_types_and_empty_trajectories_refused():
    data = round_trip(float_array_msg([0.5, -1.0]), "std_msgs/msg/Float64MultiArray")
    np.testing.assert_array_equal(action_vector(data, "std_msgs/msg/Float64MultiArray"), [0.5, -1.0])
    trajectory = round_trip(trajectory_msg([0.25, 2.0]), "trajectory_msgs/msg/JointTrajectory")
    np.testing.assert_array_equal(
        action_vector(trajectory, "trajectory_msgs/msg/JointTrajectory"), [0.25, 2.0]
    )
    with pytest.raises(ValueError, match="first point has no velocities"):
        action_vector(trajectory, "trajectory_msgs/msg/JointTrajectory", "velocities")
    trajectory.points = []
    with pytest.raises(ValueError, match="no points"):
        action_vector(trajectory, "trajectory_msgs/msg/JointTrajectory")
