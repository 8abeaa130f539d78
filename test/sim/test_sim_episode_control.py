"""`sim_node` episode control for evaluations: `episode_seed` replays a start/goal pair, `end_on_success`
ends an episode at its first success (later commands are ignored until the next reset)."""

import numpy as np
from rcl_interfaces.srv import SetParameters
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Bool, Float64MultiArray, Int32
from std_srvs.srv import Trigger

from ..ros.conftest import STARTUP_TIMEOUT_S
from .conftest import SIM_NODE, RosProbe, SimProcess

LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
SEED = 1234


def test_episode_seed_replays_a_pair_and_end_on_success_stops_stepping(tmp_path):
    node = SimProcess({"image_size": 16, "end_on_success": True, "goal_image_topic": "/goal"}, tmp_path)
    probe = RosProbe("sim_episode_control_probe")
    goals = probe.collect(Image, "/goal", LATCHED)
    goal_joints = probe.collect(JointState, f"{SIM_NODE}/goal_joint_states", LATCHED)
    joints = probe.collect(JointState, "/joint_states", 10)
    steps = probe.collect(Int32, f"{SIM_NODE}/episode_step", 10)
    success = probe.collect(Bool, f"{SIM_NODE}/success", 10)
    commands = probe.node.create_publisher(Float64MultiArray, "/forward_command_controller/commands", 10)
    try:
        assert probe.spin_until(lambda: goals, STARTUP_TIMEOUT_S), node.output()
        request = SetParameters.Request(parameters=[Parameter("episode_seed", value=SEED).to_parameter_msg()])
        assert probe.call(SetParameters, f"{SIM_NODE}/set_parameters", request).results[0].successful
        for episode in (2, 3):
            # Count from here: the observation published at start-up may predate the subscription.
            joints_before = len(joints)
            response = probe.call(Trigger, f"{SIM_NODE}/reset_episode", Trigger.Request())
            assert response.message == f"episode {episode} (seed {SEED})"
            assert probe.spin_until(lambda n=episode: len(goals) >= n and len(goal_joints) >= n)
        assert bytes(goals[-1][1].data) == bytes(goals[-2][1].data), "the same seed, the same goal"
        assert probe.spin_until(lambda: steps and steps[-1][1].data == 0 and len(joints) > joints_before)

        def counts() -> list[int]:  # each observation brings one of each
            return [len(steps), len(success), len(joints)]

        # Drive the joints straight to the goal configuration; the episode ends at the first success.
        goal = np.array(goal_joints[-1][1].position)
        assert probe.spin_until(lambda: commands.get_subscription_count() > 0)
        while not success[-1][1].data:
            assert steps[-1][1].data < 30, "the goal is reachable in fewer steps"
            error = goal - np.array(joints[-1][1].position)
            error[0] = (error[0] + np.pi) % (2 * np.pi) - np.pi
            seen = counts()
            commands.publish(Float64MultiArray(data=np.clip(error / 0.1, -3.0, 3.0).tolist()))
            assert probe.spin_until(lambda seen=seen: all(n > s for n, s in zip(counts(), seen, strict=True)))
        final = steps[-1][1].data
        commands.publish(Float64MultiArray(data=[3.0, 3.0]))
        probe.spin_for(1.0)
        assert steps[-1][1].data == final, "no step after the success"
        assert "(success): call ~/reset_episode" in node.output()
    finally:
        probe.close()
        node.stop()
