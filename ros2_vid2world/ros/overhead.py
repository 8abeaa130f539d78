"""The node's own cost per camera frame, without the model: deserialize, decode, resize, buffer, publish.

`measure_node_overhead()` is for the benchmark (`vid2world bench` or a script); tests only check that it
reports every stage, never how fast it is.
"""

from __future__ import annotations

import time

import numpy as np
import rclpy
from rclpy.serialization import deserialize_message, serialize_message
from sensor_msgs.msg import Image
from std_msgs.msg import Float64MultiArray

from ..image_messages import decode_image, resize_rgb
from .commands import CommandBuilder
from .latest_inputs import FRAME, LatestInputs

STAGES = ("deserialize", "decode", "resize", "buffer", "publish")


def camera_message(width: int = 640, height: int = 480, seed: int = 0) -> Image:
    """A random rgb8 sensor_msgs/Image without row padding."""
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image(height=height, width=width, encoding="rgb8", step=width * 3, data=pixels.tobytes())


def measure_node_overhead(
    repeats: int = 50, width: int = 640, height: int = 480, model_image_size: tuple[int, int] = (256, 256)
) -> dict:
    """Median milliseconds per stage for one rgb8 camera frame of width x height, and their sum.

    Stages: deserialize (what the subscription does with the CDR bytes), decode (numpy or cv_bridge),
    resize to `model_image_size`, buffer (the latest-only mailbox), publish (build and send a clamped
    Float64MultiArray command on a real publisher of a private rclpy context).
    """
    if repeats < 1:
        raise ValueError(f"`repeats` must be >= 1. Got {repeats}.")
    raw = serialize_message(camera_message(width, height))
    inputs = LatestInputs()
    builder = CommandBuilder("float64_multi_array", ["j1", "j2", "j3"], [-1.0] * 3, [1.0] * 3, 0.1, "zero")
    action = np.array([0.1, -0.2, 0.3])
    times = {stage: [] for stage in STAGES}
    context = rclpy.Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node("vid2world_overhead", context=context)
        publisher = node.create_publisher(Float64MultiArray, "~/commands", 1)
        for _ in range(repeats):
            marks = [time.perf_counter()]
            msg = deserialize_message(raw, Image)
            marks.append(time.perf_counter())
            frame = decode_image(msg)
            marks.append(time.perf_counter())
            frame = resize_rgb(frame, model_image_size)
            marks.append(time.perf_counter())
            inputs.put(FRAME, frame, 0.0, 0.0)
            marks.append(time.perf_counter())
            publisher.publish(builder.command(action, action[None]))
            marks.append(time.perf_counter())
            for stage, start, end in zip(STAGES, marks[:-1], marks[1:], strict=True):
                times[stage].append(end - start)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=context)
    result = {f"{stage}_ms": 1e3 * float(np.median(values)) for stage, values in times.items()}
    result["total_ms"] = sum(result[f"{stage}_ms"] for stage in STAGES)
    result.update(width=width, height=height, encoding="rgb8", model_image_size=list(model_image_size))
    result.update(repeats=repeats)
    return result


if __name__ == "__main__":
    print(measure_node_overhead())
