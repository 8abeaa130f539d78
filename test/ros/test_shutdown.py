"""A signal during a long decision: the node abandons it, sends its hold and exits 0 within 2 s."""

import signal
import time

import numpy as np
import pytest
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from .conftest import NODE, STARTUP_TIMEOUT_S, NodeProcess, RosProbe, image_message

COMMAND_TOPIC = "/slow_arm/commands"
# A real planner made slow: thousands of candidates and many iterations (tens of seconds a decision).
SLOW_PLANNER = {
    "planner.population": 4096,
    "planner.elites": 8,
    "planner.iterations": 200,
    "planner.horizon": 4,
    "planner.denoise_steps": 4,
    "planner.history_frames": 2,
}
EXIT_WITHIN_S = 2.0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_decision_sends_the_hold_and_exits_0_within_2_s(tmp_path, tiny_model_path, signum):
    parameters = {
        "model_path": str(tiny_model_path),
        "command_topic": COMMAND_TOPIC,
        "joint_names": ["j1", "j2"],
        "control_rate": 0.0,
        "max_input_age": 30.0,
        "autostart": True,
        "device": "cpu",
        "num_threads": 1,
        **SLOW_PLANNER,
    }
    process = NodeProcess(parameters, tmp_path, f"slow_{signum.name}")
    probe = RosProbe(f"shutdown_probe_{signum.name.lower()}")
    commands = probe.collect(Float64MultiArray, COMMAND_TOPIC)
    camera = probe.node.create_publisher(Image, "/camera/image_raw", 10)
    joints = probe.node.create_publisher(JointState, "/joint_states", 10)
    goal = probe.node.create_publisher(Image, f"{NODE}/goal_image", 1)

    def feed():
        stamp = probe.node.get_clock().now().to_msg()
        camera.publish(image_message(np.full((16, 16, 3), 30, np.uint8), stamp=stamp))
        state = JointState(name=["j1", "j2"], position=[0.0, 0.0])
        state.header.stamp = stamp
        joints.publish(state)
        goal.publish(image_message(np.full((16, 16, 3), 200, np.uint8)))

    probe.every(0.2, feed)
    try:
        # "new goal" comes right before the first decision starts on the frame already in the mailbox.
        assert probe.spin_until(lambda: "new goal" in process.output(), STARTUP_TIMEOUT_S), process.output()
        probe.spin_for(1.0)
        assert commands == [], "the decision must still be running when the signal comes"
        sent = time.monotonic()
        process.process.send_signal(signum)
        assert process.process.wait(EXIT_WITHIN_S + 3.0) == 0, process.output()
        exited = time.monotonic() - sent
        assert probe.spin_until(lambda: commands, 2.0), "no hold reached the controller"
        assert [list(msg.data) for _, msg in commands] == [[0.0, 0.0]]
        assert exited < EXIT_WITHIN_S, f"exited {exited:.2f} s after the signal"
        assert "Traceback" not in process.output()
    finally:
        probe.close()
        process.stop()
