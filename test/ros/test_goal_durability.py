"""`goal_durability: transient_local`: a planner started after a latched goal was published still gets it.

(With the default `volatile` the same goal would never arrive; the other planner-node tests publish
their goals volatile, which only a volatile subscription accepts.)
"""

import numpy as np
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from .conftest import STARTUP_TIMEOUT_S, TINY_PLANNER, NodeProcess, RosProbe, image_message

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)


def test_a_latched_goal_published_before_the_planner_started_reaches_it(tmp_path, tiny_model_path):
    probe = RosProbe("goal_durability_probe")
    goal = probe.node.create_publisher(Image, "/sim/goal_image", LATCHED)
    goal.publish(image_message(np.full((16, 16, 3), 220, dtype=np.uint8)))  # once, before the node exists
    camera = probe.node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
    joints = probe.node.create_publisher(JointState, "/joint_states", 10)
    commands = probe.collect(Float64MultiArray, "/forward_command_controller/commands")

    def feed():
        stamp = probe.node.get_clock().now().to_msg()
        camera.publish(image_message(np.zeros((16, 16, 3), np.uint8), stamp=stamp))
        state = JointState(name=["j1", "j2"], position=[0.0, 0.0])
        state.header.stamp = stamp
        joints.publish(state)

    probe.every(0.1, feed)
    node = NodeProcess(
        {
            "model_path": str(tiny_model_path),
            "joint_names": ["j1", "j2"],
            "goal_image_topic": "/sim/goal_image",
            "goal_durability": "transient_local",
            "autostart": True,
            "device": "cpu",
            "num_threads": 1,
            **TINY_PLANNER,
        },
        tmp_path,
        "planner_node",
    )
    try:
        # The node plans only once it has a goal: a command means the latched goal arrived.
        assert probe.spin_until(lambda: commands, STARTUP_TIMEOUT_S), node.output()
    finally:
        probe.close()
        node.stop()
