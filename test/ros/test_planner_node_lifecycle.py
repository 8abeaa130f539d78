"""Lifecycle over DDS: a failed configure, then manual bring-up of a JointTrajectory node on sim time.

The node here has `autostart: false` and is driven through ~/change_state and ~/get_state (lifecycle_msgs),
as a lifecycle manager or `ros2 lifecycle set` would. It follows /clock (use_sim_time), which the probe
publishes, so that a backwards time jump can be staged.
"""

import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from lifecycle_msgs.msg import Transition
from rclpy.qos import qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from trajectory_msgs.msg import JointTrajectory

from ..conftest import write_tiny_model
from .conftest import (
    EVENT_TIMEOUT_S,
    NODE,
    STARTUP_TIMEOUT_S,
    TINY_PLANNER,
    NodeProcess,
    RosProbe,
    change_state,
    diagnostic_values,
    image_message,
    lifecycle_state,
)

COMMAND_TOPIC = "/arm_controller/joint_trajectory"
BOUND = 0.4
POINT_PERIOD_S = 0.25
# The robot's joints; the probe publishes them in the other order (j2, j1).
CURRENT_POSITION = [0.1, -0.2]
SILENCE_WINDOW_S = 1.5


def test_a_configure_failure_is_logged_and_the_node_stays_unconfigured(tmp_path):
    not_a_model = tmp_path / "not_a_model"
    not_a_model.mkdir()
    parameters = {"model_path": str(not_a_model), "joint_names": ["j1", "j2"], "autostart": True}
    process = NodeProcess(parameters, tmp_path, "broken", ros_args=("-r", "__node:=broken_planner"))
    probe = RosProbe("broken_probe")
    try:
        assert probe.spin_until(lambda: "configure failed" in process.output(), STARTUP_TIMEOUT_S), (
            process.output()
        )
        line = next(line for line in process.output().splitlines() if "configure failed" in line)
        assert "[ERROR]" in line and "not a world-model folder" in line and str(not_a_model) in line
        assert lifecycle_state(probe, "/broken_planner") == "unconfigured"
        assert process.process.poll() is None
    finally:
        probe.close()
        process.stop()


class SimTimeRig:
    """The node process, a probe publishing /clock, camera, joints and goal, and what comes back."""

    def __init__(self, tmp_path, model_path):
        parameters = {
            "model_path": str(model_path),
            "command_type": "joint_trajectory",
            "command_topic": COMMAND_TOPIC,
            "joint_names": ["j1", "j2"],
            "action_low": [-BOUND],
            "action_high": [BOUND],
            "control_rate": 4.0,
            "execution": "continuous",  # every plan goes out whole
            "max_input_age": 1.5,
            "hold_mode": "current_position",
            "autostart": False,
            "use_sim_time": True,
            "device": "cpu",
            "num_threads": 1,
            **TINY_PLANNER,
        }
        self.process = NodeProcess(parameters, tmp_path, "lifecycle_node")
        self.probe = RosProbe("lifecycle_test_probe")
        node = self.probe.node
        self.trajectories = self.probe.collect(JointTrajectory, COMMAND_TOPIC)
        self.diagnostics = self.probe.collect(DiagnosticArray, "/diagnostics")
        self.clock = node.create_publisher(Clock, "/clock", 10)
        self.camera = node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
        self.joints = node.create_publisher(JointState, "/joint_states", 10)
        self.goal = node.create_publisher(Image, f"{NODE}/goal_image", 1)
        self.sim_offset = 1000.0 - time.monotonic()  # sim time starts at 1000 s
        self.frame = 0
        self.probe.every(0.05, self._tick_clock)
        self.probe.every(0.1, self._feed)

    def sim_stamp(self):
        from builtin_interfaces.msg import Time

        seconds = time.monotonic() + self.sim_offset
        return Time(sec=int(seconds), nanosec=int((seconds % 1) * 1e9))

    def _tick_clock(self) -> None:
        self.clock.publish(Clock(clock=self.sim_stamp()))

    def _feed(self) -> None:
        stamp = self.sim_stamp()
        self.frame += 1
        self.camera.publish(image_message(np.full((16, 16, 3), self.frame % 200, np.uint8), stamp=stamp))
        joints = JointState(name=["j2", "j1"], position=CURRENT_POSITION[::-1])
        joints.header.stamp = stamp
        self.joints.publish(joints)
        self.goal.publish(image_message(np.full((16, 16, 3), 220, np.uint8)))

    def after(self, start: float) -> list:
        return [msg for when, msg in self.trajectories if when > start]

    def wait_for_plans(self, count: int, after: float, timeout: float = EVENT_TIMEOUT_S) -> list:
        def plans():
            return [msg for msg in self.after(after) if len(msg.points) > 1]

        assert self.probe.spin_until(lambda: len(plans()) >= count, timeout), self.process.output()
        return plans()


@pytest.fixture(scope="module")
def position_model_path(tmp_path_factory):
    """Actions are joint positions, one every POINT_PERIOD_S: trajectory points are the actions."""
    path = tmp_path_factory.mktemp("models") / "positions"
    return write_tiny_model(path, control_period=POINT_PERIOD_S, action_space="joint_position")


@pytest.fixture(scope="module")
def rig(tmp_path_factory, position_model_path):
    rig = SimTimeRig(tmp_path_factory.mktemp("lifecycle"), position_model_path)
    yield rig
    rig.probe.close()
    rig.process.stop()


def test_without_autostart_the_node_waits_unconfigured(rig):
    assert lifecycle_state(rig.probe, timeout=STARTUP_TIMEOUT_S) == "unconfigured"


def test_configure_then_activate_plans_joint_trajectories(rig):
    assert change_state(rig.probe, Transition.TRANSITION_CONFIGURE), rig.process.output()
    assert lifecycle_state(rig.probe) == "inactive"
    start = time.monotonic()
    rig.probe.spin_for(1.0)
    assert rig.after(start) == []  # inactive: no commands
    assert change_state(rig.probe, Transition.TRANSITION_ACTIVATE)
    assert lifecycle_state(rig.probe) == "active"
    for trajectory in rig.wait_for_plans(2, after=start):
        assert list(trajectory.joint_names) == ["j1", "j2"]
        assert len(trajectory.points) == TINY_PLANNER["planner.horizon"]
        for i, point in enumerate(trajectory.points):
            assert len(point.positions) == 2 and np.all(np.abs(point.positions) <= BOUND)
            seconds = point.time_from_start.sec + point.time_from_start.nanosec * 1e-9
            assert seconds == pytest.approx((i + 1) * POINT_PERIOD_S)


def test_time_jumping_backwards_resets_the_buffers_and_planning_resumes(rig):
    start = time.monotonic()
    rig.sim_offset -= 100.0  # a bag replay looping back
    assert rig.probe.spin_until(
        lambda: any(
            when > start and int(diagnostic_values(msg)["time_jumps"]) >= 1 for when, msg in rig.diagnostics
        )
    ), rig.process.output()
    assert "time jumped backwards" in rig.process.output()
    rig.wait_for_plans(2, after=time.monotonic())


def test_deactivate_sends_one_hold_at_the_current_position_then_silence(rig):
    start = time.monotonic()
    assert change_state(rig.probe, Transition.TRANSITION_DEACTIVATE)
    assert lifecycle_state(rig.probe) == "inactive"

    def holds():
        return [msg for msg in rig.after(start) if len(msg.points) == 1]

    assert rig.probe.spin_until(lambda: holds())
    deactivated = time.monotonic()
    rig.probe.spin_for(SILENCE_WINDOW_S)
    assert rig.after(deactivated) == []
    (hold,) = holds()
    assert rig.after(start)[-1] is hold
    assert list(hold.joint_names) == ["j1", "j2"]
    assert list(hold.points[0].positions) == CURRENT_POSITION  # reordered by name from (j2, j1)
    assert list(hold.points[0].velocities) == [0.0, 0.0]


def test_cleanup_frees_the_model_and_returns_to_unconfigured(rig):
    assert change_state(rig.probe, Transition.TRANSITION_CLEANUP)
    assert lifecycle_state(rig.probe) == "unconfigured"
    assert "unconfigured: model freed" in rig.process.output()


def test_sigint_stops_a_node_started_with_sigint_ignored(rig, tmp_path, tiny_model_path):
    name = "vid2world_planner_background"
    parameters = {"model_path": str(tiny_model_path), "autostart": False, "num_threads": 1}
    process = NodeProcess(parameters, tmp_path, name, ("-r", f"__node:={name}"), sigint_ignored=True)
    try:
        assert lifecycle_state(rig.probe, f"/{name}", STARTUP_TIMEOUT_S) == "unconfigured", process.output()
        assert process.interrupt() == 0 and "Traceback" not in process.output(), process.output()
    finally:
        process.stop()


def test_sigint_when_unconfigured_exits_cleanly(rig):
    exit_code = rig.process.interrupt()
    assert exit_code == 0 and "Traceback" not in rig.process.output(), rig.process.output()
