"""Message type names from bags and the ROS graph ("sensor_msgs/msg/Image") -> rclpy message classes."""

from __future__ import annotations

import importlib


def message_class(msgtype: str):
    """The Python class of a ROS 2 message type; ValueError naming the package to install when missing."""
    parts = msgtype.split("/")
    if len(parts) != 3 or parts[1] != "msg":
        raise ValueError(f"message type must look like 'package/msg/Name'. Got {msgtype!r}.")
    package, _, name = parts
    try:
        module = importlib.import_module(f"{package}.msg")
        return getattr(module, name)
    except (ImportError, AttributeError):
        wheel = "ros-" + package.replace("_", "-")
        raise ValueError(
            f"message type {msgtype} is not importable here (install the {package} package, e.g. "
            f"`pip install {wheel}`, or leave the topic out with --topics)."
        ) from None
