"""Pushing: the block's angle error in the learned planner's episodes, from the poses sim_node publishes.

The block's distance to its goal comes on the sim's ~/goal_distance, as the reacher's fingertip's does;
the push criterion also bounds the block's yaw, which only the poses carry: /object_pose (one per
observation, stamped like its camera frame) and ~/goal_object_pose (latched, stamped like the episode's
goal image and first frame). Both are matched to steps by their stamps, as camera frames are.
"""

from __future__ import annotations

import math


def pose_yaw(msg) -> float:
    """The turn about z (rad) of a geometry_msgs/PoseStamped whose orientation is a yaw (sim_node's)."""
    orientation = msg.pose.orientation
    return 2.0 * math.atan2(orientation.z, orientation.w)


def angle_between(yaw: float, goal: float) -> float:
    """Radians between two yaws, in [0, pi] (the push task's angle error)."""
    return abs((yaw - goal + math.pi) % (2 * math.pi) - math.pi)


class BlockPoses:
    """The block's yaw per observation stamp, and the goal's per episode start stamp (nanoseconds)."""

    def __init__(self):
        self.yaws: dict[int, float] = {}
        self.goal_yaws: dict[int, float] = {}

    def angle_errors(self, start_ns: int, stamps: list[int]) -> list[float] | None:
        """The angle error at each of `stamps` against the goal of the episode started at `start_ns`;
        None while a pose is missing."""
        goal = self.goal_yaws.get(start_ns)
        if goal is None or any(stamp not in self.yaws for stamp in stamps):
            return None
        return [angle_between(self.yaws[stamp], goal) for stamp in stamps]

    def forget_before(self, start_ns: int) -> None:
        """Drop the poses of earlier episodes (sim time only grows across episodes)."""
        self.yaws = {stamp: yaw for stamp, yaw in self.yaws.items() if stamp >= start_ns}
        self.goal_yaws = {stamp: yaw for stamp, yaw in self.goal_yaws.items() if stamp >= start_ns}
