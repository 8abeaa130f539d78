"""What one episode of one policy produced: the outcome, the distance after every step, and pictures."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

import numpy as np

POLICIES = ("learned", "random", "oracle")


@dataclass
class EpisodeRecord:
    """One start/goal pair driven by one policy.

    distances: the task's goal distance in metres after each step, [0] = at the start (the reacher: the
    fingertip's to the target; pushing: the block's centre to the goal's).
    angle_errors: pushing only, the block's yaw error in rad after each step, like distances (empty for
    the reacher, which has no angle to reach).
    success_step: the first step (0 = the start) at which the task's criterion held, or None.
    steps: control steps the episode ran (success_step, or the budget).
    latencies_s: wall time of each decision (learned: camera frame out of the sim -> command in;
    oracle: one CEM search; random: drawing a number).
    frames: uint8 [h, w, 3] camera image after each step; imagined: the plan's final imagined frame
    decided on at each step (None where there is none); goal: the goal image. Pictures are for the
    GIFs and are not written to JSON.
    """

    policy: str
    index: int
    seed: int
    distances: list[float] = field(default_factory=list)
    angle_errors: list[float] = field(default_factory=list)
    success_step: int | None = None
    steps: int = 0
    actions: list[list[float]] = field(default_factory=list)
    latencies_s: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    notes: list[str] = field(default_factory=list)
    frames: list[np.ndarray | None] = field(default_factory=list, repr=False)
    imagined: list[np.ndarray | None] = field(default_factory=list, repr=False)
    goal: np.ndarray | None = field(default=None, repr=False)
    # Real time only: wall seconds from enabling the planner to success, control periods of commanded
    # motion spent, and the longest any command stayed in force at the robot (None: not measured).
    time_to_success_s: float | None = None
    motion_steps: float = 0.0
    longest_command_s: float | None = None

    @property
    def success(self) -> bool:
        return self.success_step is not None

    @property
    def final_distance(self) -> float | None:
        return self.distances[-1] if self.distances else None

    @property
    def final_angle_error(self) -> float | None:
        return self.angle_errors[-1] if self.angle_errors else None

    def as_dict(self) -> dict:
        angles = [math.degrees(error) for error in self.angle_errors]
        return {
            "policy": self.policy,
            "index": self.index,
            "seed": self.seed,
            "success": self.success,
            "success_step": self.success_step,
            "steps": self.steps,
            "start_distance_m": self.distances[0] if self.distances else None,
            "final_distance_m": self.final_distance,
            "min_distance_m": min(self.distances) if self.distances else None,
            "distances_m": [round(d, 5) for d in self.distances],
            **(
                {
                    "final_angle_error_deg": round(angles[-1], 2),
                    "angle_errors_deg": [round(a, 2) for a in angles],
                }
                if angles
                else {}
            ),
            "actions": [[round(a, 4) for a in action] for action in self.actions],
            "median_latency_s": statistics.median(self.latencies_s) if self.latencies_s else None,
            "wall_s": round(self.wall_s, 3),
            "notes": list(self.notes),
            **(
                {}
                if self.longest_command_s is None
                else {
                    "time_to_success_s": self.time_to_success_s,
                    "motion_steps": round(self.motion_steps, 3),
                    "longest_command_s": round(self.longest_command_s, 4),
                    "decisions": len(self.latencies_s),
                }
            ),
        }
