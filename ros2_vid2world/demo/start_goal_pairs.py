"""What each start/goal pair asks of the arm (or of the pushed block), so the report can say which pairs
are hard and why.

The goal image shows the whole arm, and the image cost asks for that pose, while the task's criterion
only asks for the fingertip. When the goal folds the elbow the other way from the start (the wrist
angles have opposite signs), reaching the pictured pose means straightening the elbow first, which
takes the arm away from the goal image before it comes closer: a local minimum of the image cost
that a short lookahead often does not see past. Knowing which pairs these are separates the planner's
ceiling from the world model's errors.

Pushing, a pair is the block's start and goal poses: how far it must travel and how far it must turn.
A turn is what takes contacts off the block's centre line, the harder part of pushing, so the report
counts successes on pairs whose goal asks for one (more than the angle tolerance) apart from the rest.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StartGoalPair:
    """start_joints, goal_joints: (shoulder, wrist) in rad at the episode's reset."""

    seed: int
    start_joints: tuple[float, float]
    goal_joints: tuple[float, float]

    @property
    def elbow_flip(self) -> bool:
        """The goal folds the elbow the other way: start and goal wrist angles have opposite signs."""
        return self.start_joints[1] * self.goal_joints[1] < 0.0

    def as_dict(self) -> dict:
        return {
            "start_joints_rad": [round(value, 4) for value in self.start_joints],
            "goal_joints_rad": [round(value, 4) for value in self.goal_joints],
            "elbow_flip": self.elbow_flip,
        }


@dataclass(frozen=True)
class PushPair:
    """start_pose, goal_pose: the block's (x m, y m, yaw rad) at the episode's reset and in its goal."""

    seed: int
    start_pose: tuple[float, float, float]
    goal_pose: tuple[float, float, float]

    @property
    def travel(self) -> float:
        """Metres between the block's start and goal centres."""
        return math.hypot(self.goal_pose[0] - self.start_pose[0], self.goal_pose[1] - self.start_pose[1])

    @property
    def turn(self) -> float:
        """Radians between the block's start and goal yaw, in [0, pi]."""
        difference = (self.goal_pose[2] - self.start_pose[2] + math.pi) % (2 * math.pi) - math.pi
        return abs(difference)

    def as_dict(self) -> dict:
        return {
            "start_block_pose": _pose_dict(self.start_pose),
            "goal_block_pose": _pose_dict(self.goal_pose),
            "block_travel_m": round(self.travel, 4),
            "block_turn_deg": round(math.degrees(self.turn), 1),
        }


def _pose_dict(pose: tuple[float, float, float]) -> dict:
    return {"x_m": round(pose[0], 4), "y_m": round(pose[1], 4), "yaw_deg": round(math.degrees(pose[2]), 1)}


Pair = StartGoalPair | PushPair


def describe_pairs(env, seeds: list[int]) -> dict[int, Pair]:
    """seed -> its pair, from env.reset(seed) (which depends on the seed alone): a StartGoalPair of the
    reacher's joints, or a PushPair of the block's poses for PushEnv."""
    pairs = {}
    for seed in seeds:
        observation = env.reset(seed)
        if hasattr(observation, "object_pose"):
            start = tuple(float(value) for value in observation.object_pose)
            pairs[seed] = PushPair(seed, start, tuple(float(value) for value in env.goal_object_pose))
            continue
        start = tuple(float(value) for value in observation.joint_positions)
        goal = tuple(float(value) for value in env.goal_joint_positions)
        pairs[seed] = StartGoalPair(seed, start, goal)
    return pairs


def breakdown(
    pairs: dict[int, Pair], outcomes: dict[int, bool], kind_of: Callable[[Pair], str], kinds: tuple[str, str]
) -> dict[str, tuple[int, int]]:
    """{kind: (successes, episodes)} for each of `kinds`, over the seeds in `outcomes` with a known pair."""
    counts = {kind: [0, 0] for kind in kinds}
    for seed, success in outcomes.items():
        if seed not in pairs:
            continue
        kind = kind_of(pairs[seed])
        counts[kind][0] += int(success)
        counts[kind][1] += 1
    return {kind: (wins, total) for kind, (wins, total) in counts.items()}


def flip_breakdown(pairs: dict[int, StartGoalPair], outcomes: dict[int, bool]) -> dict[str, tuple[int, int]]:
    """{"elbow_flip": (successes, episodes), "same_fold": (...)} over the seeds in `outcomes`."""
    kinds = ("elbow_flip", "same_fold")
    return breakdown(pairs, outcomes, lambda pair: kinds[0] if pair.elbow_flip else kinds[1], kinds)


def turn_breakdown(
    pairs: dict[int, PushPair], outcomes: dict[int, bool], tolerance: float
) -> dict[str, tuple[int, int]]:
    """{"turn": (successes, episodes), "slide": (...)}: pairs whose goal turns the block by more than
    `tolerance` rad (the task's angle tolerance), and the rest, over the seeds in `outcomes`."""
    kinds = ("turn", "slide")
    return breakdown(pairs, outcomes, lambda pair: kinds[0] if pair.turn > tolerance else kinds[1], kinds)
