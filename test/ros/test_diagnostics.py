"""The node's state as one DiagnosticStatus: levels, and the values a lab watches."""

from diagnostic_msgs.msg import DiagnosticStatus

from ros2_vid2world.ros.diagnostics import diagnostic_array
from ros2_vid2world.ros.planning_worker import WorkerStatus


def values(array) -> dict[str, str]:
    (status,) = array.status
    return {kv.key: kv.value for kv in status.values}


def test_commanding_is_ok_a_stall_warns_and_the_counts_are_reported():
    status = WorkerStatus(state="commanding", decisions=7, longest_command_s=0.113)
    array = diagnostic_array("/planner", "active", status, 0, None, camera_frames=42)
    assert array.status[0].level == DiagnosticStatus.OK
    shown = values(array)
    assert shown["camera_frames_received"] == "42" and shown["longest_command_s"] == "0.113"
    stalled = WorkerStatus(state="commanding", stalled_decisions=5, stalled=True)
    (entry,) = diagnostic_array("/planner", "active", stalled, 0, None).status
    assert entry.level == DiagnosticStatus.WARN and entry.message.startswith("stalled")


def test_a_planner_failure_is_an_error_and_an_inactive_node_warns():
    failed = WorkerStatus(state="planner_failed", message="planner failed: boom")
    (entry,) = diagnostic_array("/planner", "active", failed, 0, None).status
    assert entry.level == DiagnosticStatus.ERROR and "boom" in entry.message
    (entry,) = diagnostic_array("/planner", "inactive", None, 0, None).status
    assert entry.level == DiagnosticStatus.WARN
