"""sensor_msgs/Image and CompressedImage -> uint8 RGB arrays [H, W, 3] at the model's input size.

Decoding is plain numpy that honours `step` (padded rows), `encoding` and `is_bigendian`; cv_bridge is
used instead only when it is importable (a real ROS install), and both give the same pixels. Every
problem with a message raises ValueError naming the field, so the node can log it and drop the message.
Messages are duck-typed (any object with the fields), so this module imports no ROS package.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError


@dataclass(frozen=True)
class PixelLayout:
    """How one encoding lays out a pixel: channels of `bytes_per_channel` bytes, and which to keep.

    `rgb` picks R, G, B (or the one grey channel) as a slice, so that picking is a view, not a copy.
    """

    channels: int
    bytes_per_channel: int
    rgb: slice


ENCODINGS: dict[str, PixelLayout] = {
    "rgb8": PixelLayout(3, 1, slice(0, 3)),
    "bgr8": PixelLayout(3, 1, slice(2, None, -1)),
    "rgba8": PixelLayout(4, 1, slice(0, 3)),
    "bgra8": PixelLayout(4, 1, slice(2, None, -1)),
    "mono8": PixelLayout(1, 1, slice(0, 1)),
    "8UC1": PixelLayout(1, 1, slice(0, 1)),
    "mono16": PixelLayout(1, 2, slice(0, 1)),
    "16UC1": PixelLayout(1, 2, slice(0, 1)),
}


def check_layout(msg) -> PixelLayout:
    """The pixel layout of an Image message, after checking its size fields against its data."""
    layout = ENCODINGS.get(msg.encoding)
    if layout is None:
        raise ValueError(f"encoding must be one of {sorted(ENCODINGS)}. Got {msg.encoding!r}.")
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be >= 1. Got {height}x{width}.")
    row_bytes = width * layout.channels * layout.bytes_per_channel
    if step < row_bytes:
        raise ValueError(f"step ({step}) is smaller than width x bytes per pixel ({row_bytes}).")
    # The last row needs no padding after it, so that much is the least a message can hold.
    needed = step * (height - 1) + row_bytes
    if len(msg.data) < needed:
        raise ValueError(
            f"data holds {len(msg.data)} bytes but {height} rows of step {step} need {step * height} "
            "(truncated message?)."
        )
    return layout


def decode_image_numpy(msg) -> np.ndarray:
    """sensor_msgs/Image -> uint8 [H, W, 3] RGB. 16-bit grey is scaled by 255/65535, as cv_bridge does."""
    layout = check_layout(msg)
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    row_bytes = width * layout.channels * layout.bytes_per_channel
    data = np.frombuffer(msg.data, dtype=np.uint8)
    # A view with one row per `step` bytes, cut to the pixels: padding is skipped without a copy.
    rows = np.lib.stride_tricks.as_strided(
        data, shape=(height, row_bytes), strides=(step, 1), writeable=False
    )
    if layout.bytes_per_channel == 2:
        dtype = ">u2" if msg.is_bigendian else "<u2"
        values = np.ascontiguousarray(rows).view(dtype).reshape(height, width, layout.channels)
        pixels = np.rint(values * (255.0 / 65535.0)).astype(np.uint8)
    else:
        pixels = rows.reshape(height, width, layout.channels)
    if layout.channels == 1:
        return np.repeat(pixels, 3, axis=2)
    # One copy, always: the frame outlives the message and must not alias its buffer.
    return np.array(pixels[..., layout.rgb], order="C")


def decode_compressed_image(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (jpeg, png, ...) -> uint8 [H, W, 3] RGB, via Pillow."""
    try:
        with PILImage.open(io.BytesIO(bytes(msg.data))) as image:
            image.load()  # decode now: a truncated file raises here, not later
            return np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"compressed image (format {msg.format!r}) cannot be decoded: {exc}") from None


def resize_rgb(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [h, w, 3] -> uint8 [H, W, 3] with size = (H, W); bilinear with antialiasing when shrinking."""
    height, width = size
    if image.shape[:2] == (height, width):
        return image
    resized = PILImage.fromarray(image).resize((width, height), PILImage.Resampling.BILINEAR)
    return np.asarray(resized)


def _load_cv_bridge():
    """A CvBridge when a ROS 2 cv_bridge is importable, else None (the PyPI `cv-bridge` is ROS 1)."""
    try:
        from cv_bridge import CvBridge

        return CvBridge()
    except Exception:  # ImportError, or a broken ROS 1 package failing on import with numpy 2
        return None


CV_BRIDGE = _load_cv_bridge()


def decode_image_cv_bridge(msg) -> np.ndarray:
    """sensor_msgs/Image -> uint8 [H, W, 3] RGB through cv_bridge (which must be importable)."""
    if CV_BRIDGE is None:
        raise RuntimeError("cv_bridge is not importable in this environment.")
    check_layout(msg)
    try:
        return np.ascontiguousarray(CV_BRIDGE.imgmsg_to_cv2(msg, desired_encoding="rgb8"))
    except Exception as exc:  # CvBridgeError and OpenCV errors share no base class worth naming
        raise ValueError(f"cv_bridge cannot decode the image: {exc}") from None


def decode_image(msg) -> np.ndarray:
    """sensor_msgs/Image -> uint8 [H, W, 3] RGB, with cv_bridge when available, else numpy."""
    if CV_BRIDGE is not None:
        return decode_image_cv_bridge(msg)
    return decode_image_numpy(msg)
