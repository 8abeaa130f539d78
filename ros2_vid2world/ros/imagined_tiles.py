"""The best plan's imagined camera frames tiled beside the goal, as a sensor_msgs/Image for viewers."""

from __future__ import annotations

import numpy as np
from sensor_msgs.msg import Image


def tile_beside_goal(goal: np.ndarray, imagined: np.ndarray) -> np.ndarray:
    """goal uint8 [h, w, 3], imagined uint8 [N, h, w, 3] -> uint8 [h, (N + 1) * w, 3], goal first."""
    return np.concatenate([goal, *imagined], axis=1)


def rgb8_image(pixels: np.ndarray, header) -> Image:
    """uint8 [H, W, 3] RGB -> sensor_msgs/Image rgb8 without row padding."""
    height, width, _ = pixels.shape
    return Image(
        header=header,
        height=height,
        width=width,
        encoding="rgb8",
        is_bigendian=0,
        step=width * 3,
        data=np.ascontiguousarray(pixels, dtype=np.uint8).tobytes(),
    )
