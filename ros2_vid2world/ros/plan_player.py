"""Playing a timed plan: one action per control period, on the executor, apart from the planning thread.

A plan is the planner's action sequence with the time its first action takes effect. `tick` (a timer
on the executor, reading the node clock) sends the action whose period has begun; steps whose time has
passed when a plan arrives are skipped. When the plan runs out, or no plan has come for
`command_timeout` seconds, one hold goes out (then silence, as `CommandGate` ensures), so a command is
never in force longer than its period unless a plan renews it. A joint_trajectory plan goes out whole,
stamped with its start: the controller plays it and holds at its end.

With simulated time that stands still while the planner thinks (a lockstep simulator), nothing
expires: the end-of-plan hold waits `HOLD_GRACE_S` past the plan's end, which such a clock reaches only
when the next command moves it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field

import numpy as np
from builtin_interfaces.msg import Time

from .commands import CommandBuilder, CommandGate

# A plan's end-of-plan hold goes out this long after its last period: any positive margin keeps a clock
# that stops at the plan's end (lockstep sim time) from triggering it, and the rest of the 50 ms a
# command may overstay is left to timer jitter on a loaded CPU (measured: up to 0.154 s in force with
# a 20 ms margin while the test suite shared both cores).
HOLD_GRACE_S = 0.005


@dataclass
class TimedPlan:
    """actions: [H, A] to execute (already shaped by the CommandBuilder); positions: [H, J] predicted joint
    positions at the end of each step, or None; start: node-clock time the first action takes effect;
    period: seconds per action; epoch: the worker's epoch it was made in; received: node-clock time it
    reached the player."""

    actions: np.ndarray
    positions: np.ndarray | None
    start: float
    period: float
    epoch: int = 0
    received: float = 0.0
    sent: set = field(default_factory=set)

    @property
    def end(self) -> float:
        return self.start + len(self.actions) * self.period

    def step_at(self, now: float) -> int:
        """Index of the step in force at `now` (negative before the start, >= H after the end)."""
        return math.floor((now - self.start) / self.period + 1e-9)


@dataclass(frozen=True)
class Executed:
    """One action that went out: its start time and the action."""

    time: float
    action: np.ndarray


class PlanPlayer:
    """Holds the current plan and sends its actions on time through the gate."""

    def __init__(self, builder: CommandBuilder, gate: CommandGate, command_timeout: float, hold_joints):
        """hold_joints: () -> the latest finite joint positions or None (for position holds)."""
        self._builder, self._gate = builder, gate
        self._command_timeout = command_timeout
        self._hold_joints = hold_joints
        self._lock = threading.Lock()
        self._plan: TimedPlan | None = None
        self._last_plan_time: float | None = None
        self._executed: list[Executed] = []
        self.longest_in_force_s = 0.0  # the longest any command went unrenewed, for diagnostics
        self._in_force_since: float | None = None

    @property
    def plan(self) -> TimedPlan | None:
        with self._lock:
            return self._plan

    def set_command_timeout(self, seconds: float) -> None:
        self._command_timeout = seconds

    def play(self, plan: TimedPlan, now: float) -> None:
        """Replace the current plan with `plan` (a joint_trajectory plan goes out now, whole)."""
        with self._lock:
            plan.received = now
            self._plan, self._last_plan_time = plan, now
            if self._builder.command_type == "joint_trajectory":
                first = max(0, plan.step_at(now))
                if first < len(plan.actions) and plan.positions is not None:
                    start = plan.start + first * plan.period
                    message = self._builder.trajectory(
                        plan.actions[first:], plan.positions[first:], _stamp(max(start, now))
                    )
                    if self._gate.send(message):
                        self._in_force_since = None  # the controller times it and holds at its end
                        self._executed.extend(
                            Executed(start + i * plan.period, a) for i, a in enumerate(plan.actions[first:])
                        )
                plan.sent.update(range(len(plan.actions)))
                return
        self.tick(now)

    def clear(self) -> None:
        """Drop the plan (disable, reset, goal reached): nothing of it goes out any more."""
        with self._lock:
            self._plan = None

    def tick(self, now: float) -> None:
        """Send what is due at `now`: the step in force, or the hold when the plan is over or stale."""
        with self._lock:
            plan = self._plan
            if plan is None:
                return
            stale = self._last_plan_time is not None and now - self._last_plan_time > self._command_timeout
            step = plan.step_at(now)
            over = now >= plan.end + HOLD_GRACE_S
            if over and self._builder.command_type == "joint_trajectory" and not stale:
                self._plan = None  # the controller holds at the trajectory's end by itself
                return
            if over or stale:
                self._plan = None
                self._send_hold(now)
                return
            if 0 <= step < len(plan.actions) and step not in plan.sent:
                plan.sent.add(step)
                position = None if plan.positions is None else plan.positions[step]
                message = self._builder.step_command(plan.actions[step], position)
                if self._gate.send(message):
                    self._note_sent(now, command=True)
                    self._executed.append(Executed(plan.start + step * plan.period, plan.actions[step]))

    def remaining(self, since: float, until: float) -> tuple[np.ndarray, np.ndarray | None, float]:
        """The current plan's steps that start in [since - period / 2, until): (actions [k, A], the joint
        positions predicted after the last of them or None, the time they end). k = 0: (empty, None,
        since)."""
        with self._lock:
            plan = self._plan
            if plan is None:
                return np.zeros((0, 0)), None, since
            starts = plan.start + plan.period * np.arange(len(plan.actions))
            chosen = np.flatnonzero((starts >= since - plan.period / 2) & (starts < until))
            if len(chosen) == 0:
                return np.zeros((0, plan.actions.shape[1])), None, since
            last = chosen[-1]
            position = None if plan.positions is None else plan.positions[last]
            return plan.actions[chosen], position, float(starts[last] + plan.period)

    def executed_between(self, since: float, until: float) -> list[Executed]:
        """Actions that went out with start times in [since, until); older records are forgotten."""
        with self._lock:
            self._executed = [e for e in self._executed if e.time >= since - 60.0]
            return [e for e in self._executed if since <= e.time < until]

    def _send_hold(self, now: float) -> None:
        if self._gate.hold(self._builder.hold(self._hold_joints())):
            self._note_sent(now, command=False)

    def _note_sent(self, now: float, command: bool) -> None:
        if self._in_force_since is not None:
            self.longest_in_force_s = max(self.longest_in_force_s, now - self._in_force_since)
        self._in_force_since = now if command else None


def _stamp(seconds: float) -> Time:
    nanoseconds = max(0, round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)
