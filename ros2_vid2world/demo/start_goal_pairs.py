"""What each start/goal pair asks of the arm, so the report can say which pairs are hard and why.

The goal image shows the whole arm, and the image cost asks for that pose, while the task's criterion
only asks for the fingertip. When the goal folds the elbow the other way from the start (the wrist
angles have opposite signs), reaching the pictured pose means straightening the elbow first, which
takes the arm away from the goal image before it comes closer: a local minimum of the image cost
that a short lookahead often does not see past. Knowing which pairs these are separates the planner's
ceiling from the world model's errors.
"""

from __future__ import annotations

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


def describe_pairs(env, seeds: list[int]) -> dict[int, StartGoalPair]:
    """seed -> its pair, from ReacherEnv.reset(seed) (which depends on the seed alone)."""
    pairs = {}
    for seed in seeds:
        observation = env.reset(seed)
        start = tuple(float(value) for value in observation.joint_positions)
        goal = tuple(float(value) for value in env.goal_joint_positions)
        pairs[seed] = StartGoalPair(seed, start, goal)
    return pairs


def flip_breakdown(pairs: dict[int, StartGoalPair], outcomes: dict[int, bool]) -> dict[str, tuple[int, int]]:
    """{"elbow_flip": (successes, episodes), "same_fold": (...)} over the seeds in `outcomes`."""
    counts = {"elbow_flip": [0, 0], "same_fold": [0, 0]}
    for seed, success in outcomes.items():
        if seed not in pairs:
            continue
        kind = "elbow_flip" if pairs[seed].elbow_flip else "same_fold"
        counts[kind][0] += int(success)
        counts[kind][1] += 1
    return {kind: (wins, total) for kind, (wins, total) in counts.items()}
