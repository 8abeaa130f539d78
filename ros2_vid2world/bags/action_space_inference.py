"""Which action space recorded actions are in, from what the recording says or from how the joints moved.

A JointTrajectory says it (its positions or velocities field); actions derived from joint positions
are changes per step. A Float64MultiArray (forward_command_controller) does not: its interface is the
controller's. Then the recorded joint positions tell: commanded velocities predict the next position
change divided by the step, commanded positions predict the next position, commanded deltas the next
change. The best fit wins when it is clearly better than the others; otherwise the dataset records none and
says so (pass --action-space).
"""

from __future__ import annotations

import numpy as np

# The best fit must explain the motion at least this many times better than the runner-up.
CLEAR_MARGIN = 3.0


def fit_errors(joints: list[np.ndarray], actions: list[np.ndarray], period: float) -> dict[str, float]:
    """Median squared error of each action space's prediction of the recorded joint motion.

    joints, actions: per episode, [T, J] positions and [T, A] actions (actions[t] taken after frame t).
    """
    errors = {"joint_velocity": [], "joint_position": [], "joint_delta": []}
    for q, a in zip(joints, actions, strict=True):
        if len(q) < 2 or q.shape[1] != a.shape[1]:
            continue
        change = np.diff(q, axis=0)
        taken = a[:-1]
        errors["joint_velocity"].append(((taken * period - change) ** 2).ravel())
        errors["joint_position"].append(((taken - q[1:]) ** 2).ravel())
        errors["joint_delta"].append(((taken - change) ** 2).ravel())
    # The median: a wrapped continuous joint (+-pi) makes a few huge errors that say nothing.
    return {kind: float(np.median(np.concatenate(e))) for kind, e in errors.items() if e}


def infer_action_space(
    joints: list[np.ndarray], actions: list[np.ndarray], period: float
) -> tuple[str | None, str]:
    """(the action space whose prediction of the joint motion is clearly best, or None; why, in words)."""
    errors = fit_errors(joints, actions, period)
    if not errors:
        return None, "no joint positions with one per action dimension were recorded"
    ranked = sorted(errors, key=errors.get)
    summary = ", ".join(f"{kind} {errors[kind]:.3g}" for kind in ranked)
    if not errors[ranked[0]] * CLEAR_MARGIN <= errors[ranked[1]]:
        return None, f"no action space fits the joints' motion clearly best (median squared error: {summary})"
    return ranked[0], f"told from the joints' motion (median squared error: {summary})"
