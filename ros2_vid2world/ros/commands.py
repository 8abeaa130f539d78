"""Planner output -> command messages for ros2_control, clamped to the action bounds; hold commands; and
the gate every command and hold passes through, which makes "one hold, then silence" hold."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
from builtin_interfaces.msg import Duration
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint


def duration(seconds: float) -> Duration:
    nanoseconds = round(seconds * 1e9)
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


class CommandBuilder:
    """Builds the messages for one `command_type`.

    float64_multi_array: data = the action to execute now (forward_command_controller's `commands`).
    joint_trajectory: the planned horizon as points `point_period` apart, joint names set, header stamp
    0 ("start now"); joint_trajectory_controller replaces its running trajectory with it.
    """

    def __init__(
        self,
        command_type: str,
        joint_names: Sequence[str],
        low: Sequence[float],
        high: Sequence[float],
        point_period: float,
        hold_mode: str,
    ):
        self.command_type = command_type
        self.joint_names = list(joint_names)
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.point_period = point_period
        self.hold_mode = hold_mode

    def clamp(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(values, dtype=np.float64), self.low, self.high)

    def command(self, action: np.ndarray, sequence: np.ndarray):
        """action [A] to execute now; sequence [H, A] the plan (sequence[0] is `action`)."""
        if self.command_type == "float64_multi_array":
            return Float64MultiArray(data=self.clamp(action).tolist())
        points = [
            JointTrajectoryPoint(
                positions=self.clamp(step).tolist(), time_from_start=duration((i + 1) * self.point_period)
            )
            for i, step in enumerate(np.asarray(sequence).reshape(-1, len(self.joint_names)))
        ]
        return JointTrajectory(joint_names=self.joint_names, points=points)

    def hold(self, joints: np.ndarray | None):
        """The hold command, or None when it needs joint positions and there are no finite ones.

        Holds are not clamped: they mean "stay", and clamping a position outside the bounds would move.
        float64_multi_array: zeros (hold_mode zero) or the current positions (current_position).
        joint_trajectory: one point at the current positions with zero velocity, whatever hold_mode says,
        since zero positions would be a move, not a hold.
        """
        known = joints is not None and bool(np.all(np.isfinite(joints)))
        if self.command_type == "float64_multi_array":
            if self.hold_mode == "zero":
                return Float64MultiArray(data=[0.0] * len(self.joint_names))
            return Float64MultiArray(data=np.asarray(joints, dtype=np.float64).tolist()) if known else None
        if not known:
            return None
        point = JointTrajectoryPoint(
            positions=np.asarray(joints, dtype=np.float64).tolist(),
            velocities=[0.0] * len(self.joint_names),
            time_from_start=duration(self.point_period),
        )
        return JointTrajectory(joint_names=self.joint_names, points=[point])


class CommandGate:
    """Serialises commands and holds on the command publisher.

    `send` publishes only while open; `hold` publishes a hold only if the last thing sent was a command
    (so a second reason to stop stays silent); `close` (deactivate, disable) always sends its hold, and
    takes the same lock, so a decision finishing during the close cannot slip out after the hold.
    """

    def __init__(self, publish: Callable[[object], None]):
        self._publish = publish
        self._lock = threading.Lock()
        self._open = False
        self._commanding = False

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def commanding(self) -> bool:
        """True when the last message sent was a command (not a hold) and the gate is open."""
        return self._commanding

    def open(self) -> None:
        with self._lock:
            self._open = True

    def send(self, command) -> bool:
        with self._lock:
            if not self._open:
                return False
            self._publish(command)
            self._commanding = True
            return True

    def hold(self, hold_command) -> bool:
        """Publish `hold_command` (None: none can be built) if a command was the last thing sent."""
        with self._lock:
            if not self._commanding:
                return False
            if hold_command is not None:
                self._publish(hold_command)
            self._commanding = False
            return True

    def close(self, hold_command) -> None:
        with self._lock:
            if hold_command is not None:
                self._publish(hold_command)
            self._open = False
            self._commanding = False
