"""The node-overhead measurement reports every stage (its figures belong to the benchmark, not here)."""

import math

from ros2_vid2world.ros.overhead import STAGES, camera_message, measure_node_overhead


def test_camera_message_is_an_unpadded_rgb8_image():
    msg = camera_message(64, 48)
    assert (msg.width, msg.height, msg.encoding, msg.step, len(msg.data)) == (
        64,
        48,
        "rgb8",
        192,
        64 * 48 * 3,
    )


def test_measure_node_overhead_reports_every_stage_and_their_sum():
    result = measure_node_overhead(repeats=2, width=64, height=48, model_image_size=(16, 16))
    for stage in STAGES:
        assert math.isfinite(result[f"{stage}_ms"]) and result[f"{stage}_ms"] >= 0
    assert result["total_ms"] == sum(result[f"{stage}_ms"] for stage in STAGES)
    assert (result["width"], result["height"], result["repeats"]) == (64, 48, 2)
