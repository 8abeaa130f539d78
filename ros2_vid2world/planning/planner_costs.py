"""The cost terms a `PlannerConfig` asks for: built here once, for the learned planner and the oracle."""

from __future__ import annotations

from collections.abc import Callable

import torch

from .costs import (
    ActionMagnitudeCost,
    ActionSmoothnessCost,
    CompositeCost,
    GoalLatentCost,
    JointGoalCost,
    ObjectGoalCost,
    StateProbeGoalCost,
)
from .planner_config import PlannerConfig


def planner_costs(
    config: PlannerConfig,
    goal: torch.Tensor | None,
    *,
    decode: Callable[[torch.Tensor], torch.Tensor],
    probe: Callable[[torch.Tensor], torch.Tensor] | None = None,
    patch_size: int = 1,
    goal_joints: torch.Tensor | None = None,
    state_probe=None,
    control_period: float = 1.0,
) -> CompositeCost:
    """Every term whose weight is set and whose inputs exist, summed.

    goal: the goal image in model space [C, h, w] (None: no goal yet, so no goal terms); decode:
    model-space latents [B, 1, C, h, w] -> images in [-1, 1] (the identity for frames that are already
    pixels, as the oracle's are); probe: a state probe's `embed`, needed when `probe_weight` > 0;
    patch_size: for pixel-patch models, so that `goal_blur` is in image pixels; goal_joints: [J] for
    the joint goal term; state_probe: the `StateProbe` itself, needed when `object_weight` or
    `reach_weight` > 0 (the object goal term reads its states); control_period: seconds per action, for
    `reach_source` joints. With no term to score, every plan costs 0.
    """
    terms = []
    if goal is not None and config.goal_weight > 0:
        terms.append(
            GoalLatentCost(
                goal,
                config.goal_mode,
                config.goal_discount,
                weight=config.goal_weight,
                blur=config.goal_blur,
                patch_size=patch_size,
            )
        )
    if goal is not None and config.probe_weight > 0:
        if probe is None:
            raise ValueError(f"`probe_weight` is {config.probe_weight} but no state probe was given.")
        terms.append(StateProbeGoalCost(probe, decode, goal, weight=config.probe_weight))
    if goal is not None and (config.object_weight > 0 or config.reach_weight > 0):
        if state_probe is None:
            raise ValueError(
                f"`object_weight` {config.object_weight} / `reach_weight` {config.reach_weight} need a state "
                "probe that reads the object's pose; none was given."
            )
        terms.append(ObjectGoalCost(state_probe, decode, goal, config.object_weight, config.object_yaw_radius,
                                    config.reach_weight, reach_source=config.reach_source,
                                    control_period=control_period, reach_offset=config.reach_offset))
    if config.action_weight > 0:
        terms.append(ActionMagnitudeCost(weight=config.action_weight))
    if config.smoothness_weight > 0:
        terms.append(ActionSmoothnessCost(weight=config.smoothness_weight))
    if goal_joints is not None and config.joint_goal_weight > 0:
        terms.append(JointGoalCost(goal_joints, config.joint_action_kind, weight=config.joint_goal_weight))
    if not terms:
        terms.append(ActionMagnitudeCost(weight=0.0))  # nothing to aim at yet: every plan costs 0
    return CompositeCost(terms)
