"""Deserialized bag messages -> the numbers a dataset keeps: frames, joint positions, action vectors, and
an object's pose in the table plane.

Works on `rosbags` message objects (numpy arrays for sequences) and on rclpy messages alike, since
only field names are used.
"""

from __future__ import annotations

import numpy as np

from ..image_messages import decode_compressed_image, decode_image_numpy

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
JOINT_TYPES = ("sensor_msgs/msg/JointState",)
FLOAT_ARRAY = "std_msgs/msg/Float64MultiArray"
TRAJECTORY = "trajectory_msgs/msg/JointTrajectory"
ACTION_TYPES = (FLOAT_ARRAY, TRAJECTORY)
TRAJECTORY_FIELDS = ("positions", "velocities")
POSE_TYPES = ("geometry_msgs/msg/PoseStamped",)


def header_stamp_ns(msg) -> int | None:
    """The header stamp in nanoseconds; None when the message has no header or the stamp is 0.

    A zero stamp means "not set" (or, on a JointTrajectory, "start now"), so it says nothing about
    when the message was made.
    """
    header = getattr(msg, "header", None)
    if header is None:
        return None
    stamp = int(header.stamp.sec) * 1_000_000_000 + int(header.stamp.nanosec)
    return stamp or None


def decode_frame(msg, msgtype: str) -> np.ndarray:
    """Image or CompressedImage -> uint8 [H, W, 3] RGB (rows padded by `step` are handled)."""
    if msgtype == "sensor_msgs/msg/CompressedImage":
        return decode_compressed_image(msg)
    return decode_image_numpy(msg)


def joint_positions(msg, names: list[str]) -> np.ndarray | None:
    """JointState positions in the order of `names`; None when a joint or its position is missing."""
    msg_names = list(msg.name)
    positions = np.asarray(msg.position, dtype=np.float64)
    if len(positions) != len(msg_names):
        return None
    if msg_names == names:
        return positions
    index = {name: i for i, name in enumerate(msg_names)}
    if any(name not in index for name in names):
        return None
    return positions[[index[name] for name in names]]


def action_vector(msg, msgtype: str, trajectory_field: str = "positions") -> np.ndarray:
    """Float64MultiArray data, or a JointTrajectory's first point's `trajectory_field`, as float64 [A].

    The first point is what the controller is told to reach next; later points are the rest of a plan
    the next command replaces. Raises ValueError for an empty trajectory or field.
    """
    if msgtype == FLOAT_ARRAY:
        return np.asarray(msg.data, dtype=np.float64)
    if msgtype == TRAJECTORY:
        if not len(msg.points):
            raise ValueError("JointTrajectory has no points")
        values = np.asarray(getattr(msg.points[0], trajectory_field), dtype=np.float64)
        if not len(values):
            raise ValueError(f"JointTrajectory's first point has no {trajectory_field}")
        return values
    raise ValueError(f"action type must be one of {list(ACTION_TYPES)}. Got {msgtype!r}.")


def planar_pose(msg) -> np.ndarray:
    """PoseStamped -> float64 [3]: x, y (m) and the yaw (rad, in [-pi, pi]) of its orientation (the turn
    about z of a ZYX decomposition; an unnormalised quaternion gives the same yaw)."""
    position, q = msg.pose.position, msg.pose.orientation
    yaw = np.arctan2(2.0 * (q.w * q.z + q.x * q.y), q.w * q.w + q.x * q.x - q.y * q.y - q.z * q.z)
    return np.array([position.x, position.y, yaw], dtype=np.float64)
