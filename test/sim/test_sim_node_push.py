"""`sim_node` with `task: push` over DDS: the camera, the pusher's joint states and the block's pose on
/object_pose, stamped alike; commands in m/s push the block; the goal pose; a bad task is one line."""

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from ..ros.conftest import STARTUP_TIMEOUT_S
from .conftest import SIM_NODE, RosProbe, SimProcess

SIZE = 16
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def planar(msg: PoseStamped) -> np.ndarray:
    q = msg.pose.orientation
    return np.array([msg.pose.position.x, msg.pose.position.y, 2 * np.arctan2(q.z, q.w)])


def test_push_task_publishes_the_block_pose_with_every_frame_and_pushes_it(tmp_path):
    node = SimProcess({"task": "push", "image_size": SIZE, "seed": 3, "mode": "lockstep"}, tmp_path, "push")
    probe = RosProbe("push_probe")
    goal_poses = probe.collect(PoseStamped, f"{SIM_NODE}/goal_object_pose", LATCHED)
    goals = probe.collect(Image, "/planner_node/goal_image", LATCHED)
    poses = probe.collect(PoseStamped, "/object_pose", 10)
    images = probe.collect(Image, "/camera/image_raw", qos_profile_sensor_data)
    joints = probe.collect(JointState, "/joint_states", 10)
    commands = probe.node.create_publisher(Float64MultiArray, "/forward_command_controller/commands", 10)
    try:
        everything = (goal_poses, goals, poses, images, joints)
        assert probe.spin_until(lambda: all(everything), STARTUP_TIMEOUT_S), node.output()
        assert probe.spin_until(lambda: commands.get_subscription_count() > 0)
        first = planar(poses[0][1])
        assert poses[0][1].header.frame_id == "world"
        assert stamp_ns(poses[0][1]) == stamp_ns(images[0][1]) == stamp_ns(joints[0][1]) == 1_000_000_000
        assert list(joints[0][1].name) == ["pusher_x", "pusher_y"]
        assert goal_poses[0][1].header.frame_id == "world"
        assert not np.allclose(planar(goal_poses[0][1]), first)  # the goal is elsewhere
        # Drive the pusher at the block's centre at 0.3 m/s, a step per command, until the block moves.
        for step in range(1, 26):
            block = planar(poses[-1][1])[:2]
            towards = block - np.array(joints[-1][1].position)
            velocity = 0.3 * towards / np.abs(towards).max()
            commands.publish(Float64MultiArray(data=velocity.tolist()))
            arrived = probe.spin_until(lambda n=step: min(len(poses), len(images), len(joints)) > n)
            assert arrived, node.output()
            assert stamp_ns(poses[step][1]) == stamp_ns(images[step][1]) == stamp_ns(joints[step][1])
            if np.hypot(*(planar(poses[-1][1])[:2] - first[:2])) > 0.02:
                break
        assert np.hypot(*(planar(poses[-1][1])[:2] - first[:2])) > 0.02, "the pusher pushed the block"
        np.testing.assert_allclose(joints[-1][1].velocity, velocity, atol=0.02)  # m/s, as commanded
    finally:
        probe.close()
        node.stop()


def test_an_unknown_task_is_one_error_line_and_exit_code_2(tmp_path):
    node = SimProcess({"task": "pull"}, tmp_path, "bad_task")
    try:
        assert node.process.wait(STARTUP_TIMEOUT_S) == 2
        assert node.output().strip().splitlines()[-1] == (
            "sim_node: error: `task` must be one of ['easy', 'hard', 'push']. Got 'pull'."
        )
    finally:
        node.stop()


@pytest.mark.parametrize("name", ["max_pusher_speed", "position_tolerance"])
def test_push_settings_are_parameters_checked_at_start(tmp_path, name):
    node = SimProcess({"task": "push", name: -1.0}, tmp_path, f"bad_{name}")
    try:
        assert node.process.wait(STARTUP_TIMEOUT_S) == 2
        assert f"`{name}`" in node.output().strip().splitlines()[-1]
    finally:
        node.stop()
