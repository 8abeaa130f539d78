"""Errors raised by the planner."""


class PlanningError(RuntimeError):
    """A plan could not be made because something the planner called failed (e.g. the cost function).

    The original exception is chained as `__cause__`; the caller decides whether to stop or retry.
    """


class PlanCancelled(Exception):
    """A decision was abandoned on request (`VisualPlanner.cancel`): shutdown, disable, reset."""
