"""When the planning worker may decide, and where its plan starts, for each execution mode.

`hold_while_planning`: decide on a frame taken after the last plan's actions ran (the robot stands
still while the planner thinks), and play `execute_steps` actions from the moment the plan arrives.
`continuous`: decide on every new frame while the current plan plays; the actions of that plan that
will run during the decision (by a running estimate of its duration) are a fixed prefix the planner
imagines first, and the new plan starts when they are done.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..planning.planner_config import PlannerConfig
from ..settings import defaults
from .node_config import NodeConfig
from .plan_player import PlanPlayer, TimedPlan

# Defaults are the node's parameters' (declared once there).
NODE, PLANNER = defaults(NodeConfig), defaults(PlannerConfig)

# Weight of the newest decision in the running estimate of how long a decision takes.
LATENCY_SMOOTHING = 0.3
# Times within this are the same time (sums of periods are not exact in floating point).
TIME_TOLERANCE_S = 1e-4


@dataclass
class ExecutionSettings:
    """How plans run: the model's control period (seconds per model step), the mode, how many actions
    a hold_while_planning plan plays, the goal tolerance (0 = off) and the stall count (0 = off)."""

    control_period: float
    execution: str = NODE["execution"]
    execute_steps: int = NODE["execute_steps"]
    goal_tolerance: float = PLANNER["goal_tolerance"]
    stall_decisions: int = NODE["stall_decisions"]


@dataclass(frozen=True)
class Commitments:
    """What a decision plans from: prefix [k, A] actions that will run first (None: none), the joint
    positions when the new plan starts, its start time (None: when it arrives), the warm-start shift."""

    prefix: np.ndarray | None
    start_joints: np.ndarray
    start: float | None
    shift: int


class ExecutionPolicy:
    """Keeps the last plan and the decision-time estimate; answers when to decide and from where."""

    def __init__(self, settings: ExecutionSettings):
        self.settings = settings
        self.previous: TimedPlan | None = None
        self.expected_latency: float | None = None

    @property
    def holds_while_planning(self) -> bool:
        return self.settings.execution == "hold_while_planning"

    def ready_for(self, taken: float, now: float, playing: bool) -> bool:
        """May a decision be made on a frame taken at `taken`? (hold_while_planning: only once the last
        plan has run and the frame was taken after it)."""
        if not self.holds_while_planning or self.previous is None:
            return True
        end = self.previous.end - TIME_TOLERANCE_S
        if playing and now < end:
            return False
        return taken >= end

    def commitments(self, taken: float, joints: np.ndarray, player: PlanPlayer, period: float) -> Commitments:
        previous = self.previous
        if self.holds_while_planning or previous is None:
            return Commitments(None, joints, None, len(previous.actions) if previous is not None else 1)
        latency = self.expected_latency or 0.0
        prefix, position, prefix_end = player.remaining(taken, taken + latency)
        start = max(taken + latency, prefix_end)
        shift = max(1, round((start - previous.start) / period))
        start_joints = position if position is not None else joints
        return Commitments(prefix if len(prefix) else None, start_joints, start, shift)

    def steps_to_play(self, sequence: np.ndarray) -> np.ndarray:
        return sequence[: self.settings.execute_steps] if self.holds_while_planning else sequence

    def note_latency(self, seconds: float) -> float:
        """Fold one decision's duration (node-clock seconds) into the estimate; the estimate."""
        if self.expected_latency is None:
            self.expected_latency = seconds
        else:
            self.expected_latency += LATENCY_SMOOTHING * (seconds - self.expected_latency)
        return self.expected_latency
