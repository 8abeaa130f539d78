"""The planner node's state as one diagnostic_msgs/DiagnosticStatus on /diagnostics."""

from __future__ import annotations

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header

from .planning_worker import WorkerStatus


def _format(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def diagnostic_array(
    name: str,
    lifecycle_state: str,
    status: WorkerStatus | None,
    dropped_messages: int,
    stamp,
    camera_frames: int = 0,
) -> DiagnosticArray:
    """OK while commanding; WARN while waiting, holding, disabled or not active; ERROR after a planner
    failure. Values: lifecycle state, plan latency, input ages, best cost, counters, planner settings."""
    values = {
        "lifecycle_state": lifecycle_state,
        "dropped_messages": dropped_messages,
        "camera_frames_received": camera_frames,
    }
    if lifecycle_state != "active" or status is None:
        level, message = DiagnosticStatus.WARN, f"lifecycle state {lifecycle_state}"
    else:
        level = {"commanding": DiagnosticStatus.OK, "planner_failed": DiagnosticStatus.ERROR}.get(
            status.state, DiagnosticStatus.WARN
        )
        message = status.message or status.state
        if status.stalled and level == DiagnosticStatus.OK:
            level = DiagnosticStatus.WARN
            message = f"stalled: no better cost for {status.stalled_decisions} decisions"
    if status is not None:
        values.update(
            state=status.state,
            plan_latency_s=status.plan_latency_s,
            best_cost=status.best_cost,
            image_age_s=status.image_age_s,
            joints_age_s=status.joints_age_s,
            decisions=status.decisions,
            holds=status.holds,
            planner_failures=status.planner_failures,
            time_jumps=status.time_jumps,
            discarded_plans=status.discarded_plans,
            expected_latency_s=status.expected_latency_s,
            goal_distance=status.goal_distance,
            stalled_decisions=status.stalled_decisions,
            longest_command_s=status.longest_command_s,
            **{f"planner.{key}": value for key, value in status.planner_config.items()},
        )
    diagnostic = DiagnosticStatus(
        level=level,
        name=f"{name}: planning",
        message=message,
        hardware_id="",
        values=[KeyValue(key=key, value=_format(value)) for key, value in values.items()],
    )
    return DiagnosticArray(header=Header(stamp=stamp), status=[diagnostic])
