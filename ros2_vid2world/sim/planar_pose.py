"""Poses in the table plane, [x, y, yaw], as the pushing task keeps them and as ROS messages carry them."""

from __future__ import annotations

import numpy as np


def wrap_angle(angle: float | np.ndarray) -> float | np.ndarray:
    """An angle (rad) wrapped to [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def yaw_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a turn by `yaw` rad about z, as geometry_msgs/Quaternion orders them."""
    return 0.0, 0.0, float(np.sin(yaw / 2)), float(np.cos(yaw / 2))
