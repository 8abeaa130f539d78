"""Planner output -> command messages for ros2_control, shaped for the model's action space and kept
within the bounds and limits; hold commands; and the gate every command and hold passes through,
which makes "one hold, then silence" hold."""

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
    """Builds the messages for one `command_type` from actions of one `action_space`.

    Actions are clamped to [low, high], their change per step limited to `max_action_change`, and the
    joints kept inside `joint_position_limits` (a velocity that would cross a limit within one step is
    scaled to stop at it; a position target is clipped into them), in that order.

    float64_multi_array: one message per model step, for a forward_command_controller on the interface
    the action space needs: joint_velocity -> velocities; joint_position -> position targets;
    joint_delta -> position targets (the current positions plus the deltas so far).
    joint_trajectory: the plan as points `period` apart, positions and velocities filled whatever the
    action space (velocities integrated from the start positions, deltas summed), for a
    joint_trajectory_controller; the header stamp is when the first point takes effect.
    """

    def __init__(
        self,
        command_type: str,
        joint_names: Sequence[str],
        low: Sequence[float],
        high: Sequence[float],
        period: float,
        hold_mode: str,
        action_space: str = "joint_position",
        joint_position_limits: tuple[Sequence[float], Sequence[float]] | None = None,
        max_action_change: Sequence[float] | None = None,
    ):
        self.command_type = command_type
        self.joint_names = list(joint_names)
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.period = period
        self.hold_mode = hold_mode
        self.action_space = action_space
        self.limits = None
        if joint_position_limits is not None:
            self.limits = tuple(np.asarray(bound, dtype=np.float64) for bound in joint_position_limits)
        self.max_change = None if max_action_change is None else np.asarray(max_action_change, np.float64)

    def clamp(self, values: np.ndarray) -> np.ndarray:
        return np.clip(np.asarray(values, dtype=np.float64), self.low, self.high)

    def shaped(
        self, actions: np.ndarray, joints: np.ndarray | None, previous: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """[H, A] planned actions -> ([H, A] the actions to execute, [H, J] joint positions predicted at the
        end of each step, None when not known). joints: the positions when the first action takes
        effect (None: unknown); previous: the action in force before it, for `max_action_change`."""
        actions = self.clamp(np.asarray(actions, dtype=np.float64).reshape(-1, len(self.joint_names)))
        if self.max_change is not None:
            before = previous
            for step in range(len(actions)):
                if before is not None:
                    actions[step] = np.clip(actions[step], before - self.max_change, before + self.max_change)
                before = actions[step]
        known = joints is not None and bool(np.all(np.isfinite(joints)))
        if not known and self.action_space != "joint_position":
            return actions, None
        position = np.asarray(joints, dtype=np.float64) if known else None
        positions = np.empty_like(actions)
        for step, action in enumerate(actions):
            if self.action_space == "joint_velocity":
                if self.limits is not None:
                    action = self._stop_at_limits(position, action)
                    actions[step] = action
                position = position + action * self.period
            elif self.action_space == "joint_delta":
                target = position + action
                if self.limits is not None:
                    target = np.clip(target, *self.limits)
                    actions[step] = target - position
                position = target
            else:
                position = np.clip(action, *self.limits) if self.limits is not None else action
                actions[step] = position
            positions[step] = position
        return actions, positions

    def _stop_at_limits(self, position: np.ndarray, velocity: np.ndarray) -> np.ndarray:
        """The velocity, each joint's scaled down so that one step ends at its limit, not past it."""
        lower, upper = self.limits
        reach = position + velocity * self.period
        room = np.where(velocity > 0, np.maximum(upper - position, 0.0), np.maximum(position - lower, 0.0))
        crossing = (reach > upper) | (reach < lower)
        allowed = room / self.period
        return np.where(crossing, np.sign(velocity) * np.minimum(np.abs(velocity), allowed), velocity)

    def step_command(self, action: np.ndarray, position: np.ndarray | None):
        """float64_multi_array: the message for one step (velocities, or position targets)."""
        if self.action_space == "joint_velocity":
            return Float64MultiArray(data=np.asarray(action, dtype=np.float64).tolist())
        return Float64MultiArray(data=np.asarray(position, dtype=np.float64).tolist())

    def trajectory(self, actions: np.ndarray, positions: np.ndarray, start_stamp=None) -> JointTrajectory:
        """joint_trajectory: points `period` apart at the predicted positions; each point's velocity is
        the one that leads on to the next point, zero at the last (the arm stops where the plan ends)."""
        velocities = np.diff(positions, axis=0) / self.period
        velocities = np.concatenate([velocities, np.zeros((1, positions.shape[1]))])
        points = [
            JointTrajectoryPoint(
                positions=positions[i].tolist(),
                velocities=velocities[i].tolist(),
                time_from_start=duration((i + 1) * self.period),
            )
            for i in range(len(positions))
        ]
        msg = JointTrajectory(joint_names=self.joint_names, points=points)
        if start_stamp is not None:
            msg.header.stamp = start_stamp
        return msg

    def command(self, action: np.ndarray, sequence: np.ndarray, joints: np.ndarray | None = None):
        """The message to execute a plan now: its first step (float64_multi_array) or all of it
        (joint_trajectory, header stamp 0 = start now). None when the positions it needs are unknown."""
        actions, positions = self.shaped(
            sequence if self.command_type == "joint_trajectory" else np.asarray(action)[None], joints
        )
        if self.command_type == "float64_multi_array":
            if positions is None and self.action_space != "joint_velocity":
                return None
            return self.step_command(actions[0], None if positions is None else positions[0])
        return None if positions is None else self.trajectory(actions, positions)

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
            time_from_start=duration(self.period),
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
