"""Planning by imagination: CEM over action sequences, weighted cost terms, receding-horizon MPC. No ROS."""

from .cem import CEM, CEMConfig, CEMInfo
from .costs import (
    ActionMagnitudeCost,
    ActionSmoothnessCost,
    CompositeCost,
    CostContext,
    CostTerm,
    GoalLatentCost,
    JointGoalCost,
    StateProbeGoalCost,
)
from .errors import PlanningError
from .mpc import MPCConfig, MPCPlanner, PlanResult, shift_sequence

__all__ = [
    "CEM",
    "ActionMagnitudeCost",
    "ActionSmoothnessCost",
    "CEMConfig",
    "CEMInfo",
    "CompositeCost",
    "CostContext",
    "CostTerm",
    "GoalLatentCost",
    "JointGoalCost",
    "MPCConfig",
    "MPCPlanner",
    "PlanResult",
    "PlanningError",
    "StateProbeGoalCost",
    "shift_sequence",
]
