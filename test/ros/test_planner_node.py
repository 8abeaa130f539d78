"""The planner node as a separate process over DDS: commands, safety, services, parameters, Ctrl-C.

One node process serves the whole module (starting one costs seconds of CPU); the tests run in file
order and each leaves the node commanding, fed by the probe, for the next one. The last test stops it.
"""

import math
import time

import numpy as np
import pytest
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64, Float64MultiArray
from std_srvs.srv import SetBool, Trigger

from ..conftest import write_tiny_model
from .conftest import (
    EVENT_TIMEOUT_S,
    NODE,
    STARTUP_TIMEOUT_S,
    TINY_PLANNER,
    NodeProcess,
    RosProbe,
    diagnostic_values,
    image_message,
    set_parameter,
)

COMMAND_TOPIC = "/arm/commands"
LOW, HIGH = np.array([-0.5, -0.5]), np.array([0.5, 0.25])
MAX_INPUT_AGE_S = 1.5
SILENCE_WINDOW_S = 1.5


class Rig:
    """The node process, the probe, what it has received, and a feed of camera, joints and goal at 10 Hz."""

    def __init__(self, tmp_path, model_path):
        parameters = {
            "model_path": str(model_path),
            "command_topic": COMMAND_TOPIC,
            "joint_names": ["j1", "j2"],
            "action_low": LOW[:1].tolist(),
            "action_high": HIGH.tolist(),
            "control_rate": 4.0,
            # Plans (2 steps of the model's 1 s) run far longer than a decision, so every command is
            # renewed before its plan ends: the holds seen here are the safety holds under test.
            "execution": "continuous",
            "command_timeout": 5.0,
            "max_input_age": MAX_INPUT_AGE_S,
            "hold_mode": "zero",
            "autostart": True,
            "device": "cpu",
            "num_threads": 1,
            "imagined_period": 0.5,
            **TINY_PLANNER,
        }
        self.process = NodeProcess(parameters, tmp_path, "planner_node")
        self.probe = RosProbe("planner_node_test_probe")
        self.commands = self.probe.collect(Float64MultiArray, COMMAND_TOPIC)
        self.costs = self.probe.collect(Float64, f"{NODE}/plan_cost")
        self.imagined = self.probe.collect(Image, f"{NODE}/imagined", 1)
        self.diagnostics = self.probe.collect(DiagnosticArray, "/diagnostics")
        self.camera = self.probe.node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
        self.joints = self.probe.node.create_publisher(JointState, "/joint_states", 10)
        self.goal = self.probe.node.create_publisher(Image, f"{NODE}/goal_image", 1)
        self.feeding = True
        self.joint_positions = [0.2, 0.1]  # published as (j2, j1): the node must reorder
        self.frame = 0
        self.probe.every(0.1, self._feed)

    def _feed(self) -> None:
        if not self.feeding:
            return
        stamp = self.probe.node.get_clock().now().to_msg()
        self.frame += 1
        pixels = np.full((16, 16, 3), self.frame % 200, dtype=np.uint8)
        self.camera.publish(image_message(pixels, stamp=stamp))
        joints = JointState(name=["j2", "j1"], position=self.joint_positions)
        joints.header.stamp = stamp
        self.joints.publish(joints)
        self.goal.publish(image_message(np.full((16, 16, 3), 220, dtype=np.uint8)))

    def commands_after(self, start: float) -> list[list[float]]:
        return [list(msg.data) for when, msg in self.commands if when > start]

    def wait_for_commands(
        self, count: int, after: float, timeout: float = EVENT_TIMEOUT_S
    ) -> list[list[float]]:
        assert self.probe.spin_until(lambda: len(self.commands_after(after)) >= count, timeout), (
            f"fewer than {count} commands; node output:\n{self.process.output()}"
        )
        return self.commands_after(after)

    def latest_diagnostics(self, after: float) -> dict[str, str]:
        self.probe.spin_until(lambda: any(when > after for when, _ in self.diagnostics))
        return diagnostic_values(self.diagnostics[-1][1])

    def now(self) -> float:
        return time.monotonic()


def is_hold(command: list[float]) -> bool:
    return command == [0.0, 0.0]


@pytest.fixture(scope="module")
def slow_model_path(tmp_path_factory):
    """The tiny model with a 1 s control period (joint velocities)."""
    return write_tiny_model(tmp_path_factory.mktemp("models") / "slow", control_period=1.0)


@pytest.fixture(scope="module")
def rig(tmp_path_factory, slow_model_path):
    rig = Rig(tmp_path_factory.mktemp("planner_node"), slow_model_path)
    yield rig
    rig.probe.close()
    rig.process.stop()


def test_commands_arrive_with_one_value_per_joint_within_the_bounds(rig):
    commands = rig.wait_for_commands(3, after=0.0, timeout=STARTUP_TIMEOUT_S)
    for command in commands:
        assert len(command) == 2
        assert np.all(np.asarray(command) >= LOW) and np.all(np.asarray(command) <= HIGH), command
    assert not any(is_hold(command) for command in commands)


def test_cost_imagined_frames_and_diagnostics_are_published(rig):
    start = rig.now()
    assert rig.probe.spin_until(lambda: rig.imagined and any(when > start for when, _ in rig.costs))
    assert math.isfinite(rig.costs[-1][1].data)
    tiles = rig.imagined[-1][1]
    # The goal beside horizon (2) imagined frames, each 16x16.
    assert (tiles.height, tiles.width, tiles.encoding, tiles.step) == (16, 48, "rgb8", 144)
    goal_tile = np.frombuffer(tiles.data, np.uint8).reshape(16, 48, 3)[:, :16]
    assert (goal_tile == 220).all()
    values = rig.latest_diagnostics(after=start)
    assert values["lifecycle_state"] == "active" and values["state"] == "commanding"
    assert float(values["plan_latency_s"]) > 0 and float(values["image_age_s"]) < MAX_INPUT_AGE_S
    assert math.isfinite(float(values["best_cost"]))


def test_a_truncated_image_is_dropped_and_the_node_keeps_commanding(rig):
    broken = image_message(np.zeros((16, 16, 3), np.uint8))
    broken.data = bytes(broken.data)[:100]
    rig.camera.publish(broken)
    rig.camera.publish(broken)
    start = rig.now()
    assert rig.probe.spin_until(
        lambda: any(
            when > start and int(diagnostic_values(msg)["dropped_messages"]) >= 1
            for when, msg in rig.diagnostics
        )
    ), rig.process.output()
    assert "dropped a malformed camera image message" in rig.process.output()
    rig.wait_for_commands(2, after=start)
    assert rig.process.process.poll() is None


def test_a_planner_parameter_changes_at_runtime_without_a_stop(rig):
    start = rig.now()
    result = set_parameter(rig.probe, "planner.population", 12)
    assert result.successful, result.reason
    assert rig.probe.spin_until(
        lambda: any(
            when > start and diagnostic_values(msg)["planner.population"] == "12"
            for when, msg in rig.diagnostics
        )
    )
    commands = rig.wait_for_commands(2, after=start)
    assert not any(is_hold(command) for command in commands)
    assert rig.probe.spin_until(
        lambda: "planner settings changed: {'population': 12}" in rig.process.output()
    )


def test_invalid_and_read_only_parameter_changes_are_refused(rig):
    result = set_parameter(rig.probe, "planner.elites", 50)
    assert not result.successful and "elites" in result.reason
    result = set_parameter(rig.probe, "command_type", "joint_trajectory")
    assert not result.successful and "read-only" in result.reason.lower()


def test_reset_service_drops_the_warm_start_and_planning_goes_on(rig):
    start = rig.now()
    response = rig.probe.call(Trigger, f"{NODE}/reset", Trigger.Request())
    assert response.success, response.message
    rig.wait_for_commands(2, after=start)
    # The node's log reaches its file asynchronously to the commands on DDS: wait for it too.
    assert rig.probe.spin_until(lambda: "reset: warm start and history dropped" in rig.process.output())


def test_disable_sends_one_hold_then_silence_and_enable_resumes(rig):
    start = rig.now()
    response = rig.probe.call(SetBool, f"{NODE}/enable", SetBool.Request(data=False))
    assert response.success and "hold" in response.message
    assert rig.probe.spin_until(lambda: any(is_hold(c) for c in rig.commands_after(start)))
    held = rig.now()
    rig.probe.spin_for(SILENCE_WINDOW_S)
    assert rig.commands_after(held) == []
    assert [c for c in rig.commands_after(start) if is_hold(c)] == [[0.0, 0.0]]
    start = rig.now()
    assert rig.probe.call(SetBool, f"{NODE}/enable", SetBool.Request(data=True)).success
    rig.wait_for_commands(2, after=start)


def test_stale_inputs_give_one_hold_then_silence_until_fresh_inputs(rig):
    rig.feeding = False
    stopped = rig.now()
    assert rig.probe.spin_until(
        lambda: any(is_hold(c) for c in rig.commands_after(stopped)), MAX_INPUT_AGE_S + 10
    )
    (hold_time,) = [when for when, msg in rig.commands if when > stopped and is_hold(list(msg.data))]
    assert hold_time - stopped >= MAX_INPUT_AGE_S - 0.2  # not before the inputs really were stale
    rig.probe.spin_for(SILENCE_WINDOW_S)
    after = rig.commands_after(stopped)
    assert after[-1] == [0.0, 0.0] and [c for c in after if is_hold(c)] == [[0.0, 0.0]]
    resumed = rig.now()
    rig.feeding = True
    commands = rig.wait_for_commands(2, after=resumed)
    assert not any(is_hold(command) for command in commands)


def test_nan_joint_state_gives_one_hold_then_silence(rig):
    rig.joint_positions = [float("nan"), 0.1]
    start = rig.now()
    assert rig.probe.spin_until(lambda: any(is_hold(c) for c in rig.commands_after(start)))
    rig.probe.spin_for(SILENCE_WINDOW_S)
    assert [c for c in rig.commands_after(start) if is_hold(c)] == [[0.0, 0.0]]
    assert rig.commands_after(start)[-1] == [0.0, 0.0]
    assert "joint state contains NaN" in rig.process.output()
    rig.joint_positions = [0.2, 0.1]
    rig.wait_for_commands(2, after=rig.now())


def test_sigint_sends_a_final_hold_and_exits_cleanly(rig):
    start = rig.now()
    exit_code = rig.process.interrupt()
    output = rig.process.output()
    assert exit_code == 0, output
    assert "Traceback" not in output, output
    assert rig.probe.spin_until(lambda: any(is_hold(c) for c in rig.commands_after(start)), 5.0)
