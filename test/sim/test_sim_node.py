"""`sim_node` as a separate process over DDS: goal and late subscribers, lockstep, bad commands, episode
limits, the reset service, realtime stepping and Ctrl-C.

One lockstep node serves the module's tests in file order (starting one costs seconds of CPU); the last
of them stops it. The realtime test starts its own.
"""

import numpy as np
import pytest
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64, Float64MultiArray, Int32
from std_srvs.srv import Trigger

from ..ros.conftest import EVENT_TIMEOUT_S, STARTUP_TIMEOUT_S
from .conftest import SIM_NODE, RosProbe, SimProcess

SIZE, MAX_STEPS = 16, 6
COMMAND_TOPIC = "/forward_command_controller/commands"
GOAL_TOPIC = "/planner_node/goal_image"
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
QUIET_S = 1.0  # how long "nothing more arrives" is watched


def stamp_s(msg) -> float:
    return msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9


def pixels(msg: Image) -> np.ndarray:
    return np.frombuffer(bytes(msg.data), dtype=np.uint8).reshape(msg.height, msg.width, 3)


class Rig:
    """The node process and a probe that subscribes to everything it publishes."""

    def __init__(self, tmp_path, parameters: dict, name: str):
        self.node = SimProcess(parameters, tmp_path, name)
        self.probe = RosProbe(f"{name}_probe")
        self.goals = self.probe.collect(Image, GOAL_TOPIC, LATCHED)
        self.commands = self.probe.node.create_publisher(Float64MultiArray, COMMAND_TOPIC, 10)

    def subscribe(self) -> None:
        """Everything else the node publishes."""
        collect = self.probe.collect
        self.goal_joints = collect(JointState, f"{SIM_NODE}/goal_joint_states", LATCHED)
        self.images = collect(Image, "/camera/image_raw", qos_profile_sensor_data)
        self.joints = collect(JointState, "/joint_states", 10)
        self.clock = collect(Clock, "/clock", 10)
        self.steps = collect(Int32, f"{SIM_NODE}/episode_step", 10)
        self.success = collect(Bool, f"{SIM_NODE}/success", 10)
        self.distance = collect(Float64, f"{SIM_NODE}/goal_distance", 10)

    def send(self, *velocities: float) -> None:
        self.commands.publish(Float64MultiArray(data=list(velocities)))

    def wait_for(self, received: list, count: int, timeout: float = EVENT_TIMEOUT_S) -> None:
        assert self.probe.spin_until(lambda: len(received) >= count, timeout), (
            f"{len(received)} of {count} messages\n{self.node.output()}"
        )

    def close(self) -> None:
        self.probe.close()
        self.node.stop()


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    rig = Rig(
        tmp_path_factory.mktemp("sim"),
        {"image_size": SIZE, "seed": 3, "max_steps": MAX_STEPS, "mode": "lockstep"},
        "lockstep",
    )
    yield rig
    rig.close()


def test_goal_and_first_observation_reach_a_late_subscriber(rig):
    rig.wait_for(rig.goals, 1, STARTUP_TIMEOUT_S)
    # The node published the episode's first observation right after the goal: subscribing now is late.
    # The node's late-subscriber check sends it the observation the node waits on a command for.
    rig.subscribe()
    rig.wait_for(rig.images, 1)
    rig.wait_for(rig.joints, 1)
    rig.wait_for(rig.goal_joints, 1)
    # And the clock of that observation: a planner on sim time that missed it would time its first plan
    # from time 0, and the plan's end would never come in lockstep.
    rig.wait_for(rig.clock, 1)
    goal, first = rig.goals[0][1], rig.images[0][1]
    assert rig.clock[0][1].clock.sec + rig.clock[0][1].clock.nanosec * 1e-9 == 1.0
    assert (goal.encoding, goal.width, goal.height, goal.step) == ("rgb8", SIZE, SIZE, SIZE * 3)
    assert (first.encoding, first.width, first.height) == ("rgb8", SIZE, SIZE)
    assert not np.array_equal(pixels(goal), pixels(first))  # the arm is not at the goal yet
    assert stamp_s(first) == stamp_s(rig.joints[0][1]) == 1.0  # sim time starts at 1 s
    assert list(rig.goal_joints[0][1].name) == ["shoulder", "wrist"]
    rig.probe.spin_for(QUIET_S)
    assert len(rig.images) == 1, "one copy only: a planner decides on every image"
    assert len(rig.clock) == 1


def test_lockstep_one_step_per_command(rig):
    assert rig.probe.spin_until(lambda: rig.commands.get_subscription_count() > 0)
    start = np.array(rig.joints[-1][1].position)
    for step in range(1, 4):
        rig.send(3.0, -1.5)
        rig.wait_for(rig.images, 1 + step)
        rig.wait_for(rig.joints, 1 + step)
    rig.probe.spin_for(QUIET_S)  # nothing moves without a command
    assert len(rig.images) == 4 and len(rig.joints) == 4
    assert [stamp_s(msg) for _, msg in rig.images] == pytest.approx([1.0, 1.1, 1.2, 1.3])
    assert [c.clock.sec + c.clock.nanosec * 1e-9 for _, c in rig.clock][-3:] == pytest.approx([1.1, 1.2, 1.3])
    rig.wait_for(rig.steps, 3)
    assert [msg.data for _, msg in rig.steps][-3:] == [1, 2, 3]
    end = np.array(rig.joints[-1][1].position)
    moved = end - start
    moved[0] = (moved[0] + np.pi) % (2 * np.pi) - np.pi
    np.testing.assert_allclose(moved, [0.9, -0.45], atol=0.03)
    np.testing.assert_allclose(rig.joints[-1][1].velocity, [3.0, -1.5], atol=0.05)
    rig.wait_for(rig.distance, 3)
    rig.wait_for(rig.success, 3)
    assert all(msg.data > 0 for _, msg in rig.distance)


def test_malformed_commands_are_dropped(rig):
    before = len(rig.images)
    rig.send(1.0)
    rig.send(float("nan"), 0.0)
    rig.probe.spin_for(QUIET_S)
    assert len(rig.images) == before
    assert "dropped a command" in rig.node.output()


def test_commands_after_max_steps_are_ignored(rig):
    for _ in range(MAX_STEPS):  # 3 steps are left in the episode
        rig.send(0.0, 0.0)
    rig.probe.spin_for(QUIET_S)
    rig.wait_for(rig.steps, MAX_STEPS)
    assert rig.steps[-1][1].data == MAX_STEPS
    assert len(rig.images) == 1 + MAX_STEPS
    assert "episode over" in rig.node.output()


def test_reset_episode_publishes_a_new_goal_and_keeps_time_running(rig):
    last_stamp = stamp_s(rig.images[-1][1])
    response = rig.probe.call(Trigger, f"{SIM_NODE}/reset_episode", Trigger.Request())
    assert response.success and "episode 2" in response.message
    rig.wait_for(rig.goals, 2)
    rig.wait_for(rig.images, 2 + MAX_STEPS)
    assert not np.array_equal(pixels(rig.goals[0][1]), pixels(rig.goals[1][1]))
    first = rig.images[-1][1]
    assert stamp_s(first) == pytest.approx(last_stamp + 0.1)
    assert stamp_s(rig.goals[1][1]) == pytest.approx(stamp_s(first))
    rig.wait_for(rig.steps, MAX_STEPS + 1)
    assert rig.steps[-1][1].data == 0
    rig.send(0.0, 3.0)  # the new episode steps again
    rig.wait_for(rig.images, 3 + MAX_STEPS)


def test_sigint_exits_cleanly(rig):
    assert rig.node.interrupt() == 0, rig.node.output()
    assert "Traceback" not in rig.node.output()


def test_realtime_steps_on_a_timer_with_the_held_command(tmp_path):
    rig = Rig(tmp_path, {"image_size": SIZE, "mode": "realtime"}, "realtime")
    rig.subscribe()
    try:
        rig.wait_for(rig.goals, 1, STARTUP_TIMEOUT_S)
        assert rig.probe.spin_until(lambda: rig.commands.get_subscription_count() > 0)
        rig.wait_for(rig.joints, 1)
        rig.send(0.0, -3.0)  # sent once, held
        assert rig.probe.spin_until(lambda: abs(rig.joints[-1][1].velocity[1]) > 0)
        seen = len(rig.steps)
        rig.probe.spin_for(1.0)
        steps = [msg.data for _, msg in rig.steps[seen:]]
        assert np.all(np.diff(steps) == 1), "one step per timer tick, none skipped"
        assert 4 <= len(steps) <= 12, "paced by the wall clock at 10 Hz, not as fast as possible"
        positions = np.array([msg.position for _, msg in rig.joints[-len(steps) :]])
        shoulder, wrist = positions[:, 0], positions[:, 1]
        assert np.ptp(shoulder) < 1e-6  # only the wrist was commanded
        moving = wrist > -np.deg2rad(160) + 0.01
        np.testing.assert_allclose(np.diff(wrist)[moving[1:]], -0.3, atol=0.01)  # until its limit
    finally:
        rig.close()


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"mode": "fast"}, "`mode` must be one of ['lockstep', 'realtime']. Got 'fast'."),
        ({"goal_source": "x"}, "`goal_source` must be one of ['random', 'exploration']. Got 'x'."),
    ],
)
def test_a_bad_parameter_is_one_error_line_and_exit_code_2(tmp_path, parameters, message):
    node = SimProcess(parameters, tmp_path, "bad_parameter")
    try:
        assert node.process.wait(STARTUP_TIMEOUT_S) == 2
        assert node.output().strip().splitlines()[-1] == f"sim_node: error: {message}"
    finally:
        node.stop()


def test_realtime_stamps_with_the_wall_clock_reports_commands_in_force_and_ends_on_the_motion_budget(
    tmp_path,
):
    import time

    parameters = {"image_size": SIZE, "mode": "realtime", "max_motion_steps": 5}
    rig = Rig(tmp_path, parameters, "realtime_budget")
    rig.subscribe()
    in_force = rig.probe.collect(Float64, f"{SIM_NODE}/command_in_force", 10)
    motion = rig.probe.collect(Float64, f"{SIM_NODE}/motion_steps", 10)
    try:
        rig.wait_for(rig.goals, 1, STARTUP_TIMEOUT_S)
        assert rig.probe.spin_until(lambda: rig.commands.get_subscription_count() > 0)
        rig.wait_for(rig.images, 1)
        assert abs(stamp_s(rig.images[-1][1]) - time.time()) < 5.0  # a camera's stamp, not sim time
        rig.send(1.0, 0.0)
        rig.probe.spin_for(0.25)
        rig.send(0.0, 0.0)  # the first command is replaced after ~0.25 s
        assert rig.probe.spin_until(lambda: in_force)
        assert 0.15 < in_force[0][1].data < 0.6, in_force
        rig.probe.spin_for(0.3)
        still = motion[-1][1].data
        assert 1.0 < still < 5.0  # about 2.5 control periods of motion, counted while it was commanded
        rig.send(2.0, 0.0)  # now moving until the budget of 5 periods is spent
        assert rig.probe.spin_until(lambda: motion[-1][1].data >= 5.0 - 1e-6, 10.0)
        spent = len(rig.joints)
        rig.probe.spin_for(0.5)
        positions = np.array([msg.position for _, msg in rig.joints[spent:]])
        # The episode is over: the camera keeps streaming, the arm rests.
        assert len(positions) >= 3 and np.ptp(positions[:, 0]) < 1e-9
        assert rig.clock == []  # no sim time in real time
    finally:
        rig.close()
