"""planner_node plans, over DDS, with a world model trained from a Stable Video Diffusion pipeline
(latent space, SVD's EDM noise and image conditioning): the tiny pipeline of test/svd_pipeline.py,
trained for a few steps here."""

import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState
from std_msgs.msg import Float64MultiArray

from ros2_vid2world.cli import main
from test.svd_pipeline import IMAGE_SIZE, write_tiny_svd_pipeline
from test.training.test_svd_training import squares_dataset

from .conftest import (
    EVENT_TIMEOUT_S,
    NODE,
    STARTUP_TIMEOUT_S,
    TINY_PLANNER,
    NodeProcess,
    RosProbe,
    image_message,
)

COMMAND_TOPIC = "/arm/commands"
LOW, HIGH = [-0.5, -0.5], [0.5, 0.25]


@pytest.fixture(scope="module")
def svd_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("svd")
    pipeline = write_tiny_svd_pipeline(root / "pipeline")
    data = squares_dataset(root / "squares")
    argv = ["train", "--base", str(pipeline), "--data", str(data), "--out", str(root / "model"),
            "--steps", "2", "--batch-size", "2", "--clip-frames", "4", "--warmup-steps", "1",
            "--holdout-episodes", "1", "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    return root / "model"


def test_planner_node_commands_a_robot_with_an_svd_world_model(tmp_path, svd_model, keep_torch_threads):
    parameters = {
        "model_path": str(svd_model), "command_topic": COMMAND_TOPIC, "joint_names": ["j1", "j2"],
        "action_low": LOW, "action_high": HIGH, "control_rate": 4.0, "execution": "continuous",
        "command_timeout": 5.0, "max_input_age": 1.5, "autostart": True, "device": "cpu", "num_threads": 1,
        "imagined_period": 0.5, **TINY_PLANNER,
    }  # fmt: skip
    process = NodeProcess(parameters, tmp_path, "planner_node")
    probe = RosProbe("svd_planner_probe")
    try:
        commands = probe.collect(Float64MultiArray, COMMAND_TOPIC)
        imagined = probe.collect(Image, f"{NODE}/imagined", 1)
        camera = probe.node.create_publisher(Image, "/camera/image_raw", qos_profile_sensor_data)
        joints = probe.node.create_publisher(JointState, "/joint_states", 10)
        goal = probe.node.create_publisher(Image, f"{NODE}/goal_image", 1)
        frame = [0]

        def feed():
            stamp = probe.node.get_clock().now().to_msg()
            frame[0] += 1
            pixels = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8)
            pixels[8:12, frame[0] % 20 : frame[0] % 20 + 4] = 255
            camera.publish(image_message(pixels, stamp=stamp))
            state = JointState(name=["j1", "j2"], position=[0.1, 0.2])
            state.header.stamp = stamp
            joints.publish(state)
            goal.publish(image_message(np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 200, np.uint8)))

        probe.every(0.1, feed)
        planned = [c for _, c in commands if any(c.data)]
        assert probe.spin_until(
            lambda: len([c for _, c in commands if any(c.data)]) >= 3, STARTUP_TIMEOUT_S + EVENT_TIMEOUT_S
        ), f"fewer than 3 planned commands; node output:\n{process.output()}"
        planned = [list(c.data) for _, c in commands if any(c.data)]
        assert all(len(c) == 2 and LOW[i] <= c[i] <= HIGH[i] for c in planned for i in range(2))
        assert probe.spin_until(lambda: imagined, EVENT_TIMEOUT_S), process.output()
        image = imagined[-1][1]
        # The plan's imagined frames, decoded by the SVD autoencoder at the camera's size.
        assert image.height % IMAGE_SIZE == 0 and image.width % IMAGE_SIZE == 0
    finally:
        probe.close()
        process.stop()
