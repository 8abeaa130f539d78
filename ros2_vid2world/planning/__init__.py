"""Planning by imagination: CEM over action sequences, weighted cost terms, receding-horizon MPC. No ROS.

Names are imported on first use, so the torch-free settings (`planning.cem_config`,
`planning.planner_config`) can be read by a node or CLI without importing torch.
"""

from ..lazy_exports import lazy_getattr

_EXPORTS = {
    "CEM": ".cem",
    "CEMInfo": ".cem",
    "CEMConfig": ".cem_config",
    "ActionMagnitudeCost": ".costs",
    "ActionSmoothnessCost": ".costs",
    "CompositeCost": ".costs",
    "CostContext": ".costs",
    "CostTerm": ".costs",
    "GoalLatentCost": ".costs",
    "JointGoalCost": ".costs",
    "StateProbeGoalCost": ".costs",
    "ObjectGoalCost": ".costs",
    "PlanningError": ".errors",
    "MPCConfig": ".mpc",
    "MPCPlanner": ".mpc",
    "PlanResult": ".mpc",
    "shift_sequence": ".mpc",
    "PlannerConfig": ".planner_config",
}
__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS)
