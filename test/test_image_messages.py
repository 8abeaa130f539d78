"""Image decoding honours step, encoding and byte order, and rejects broken messages with a reason."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage
from sensor_msgs.msg import CompressedImage, Image

from ros2_vid2world import image_messages
from ros2_vid2world.image_messages import (
    decode_compressed_image,
    decode_image_cv_bridge,
    decode_image_numpy,
    resize_rgb,
)


def rgb_pixels(height=5, width=7, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def message(pixels, encoding, padding=0, bigendian=False):
    """An Image whose rows carry `padding` junk bytes after the pixels."""
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, -1).view(np.uint8)
    junk = np.full((height, padding), 0xAB, dtype=np.uint8)
    data = np.concatenate([rows, junk], axis=1)
    return Image(
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=int(bigendian),
        step=data.shape[1],
        data=data.tobytes(),
    )


@pytest.mark.parametrize("padding", [0, 3, 64])
def test_padded_rows_decode_to_the_pixels_without_the_padding(padding):
    pixels = rgb_pixels()
    decoded = decode_image_numpy(message(pixels, "rgb8", padding=padding))
    assert decoded.dtype == np.uint8 and decoded.shape == (5, 7, 3)
    np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize(
    "encoding, to_message",
    [
        ("rgb8", lambda rgb: rgb),
        ("bgr8", lambda rgb: rgb[..., ::-1]),
        ("rgba8", lambda rgb: np.dstack([rgb, np.full(rgb.shape[:2], 7, np.uint8)])),
        ("bgra8", lambda rgb: np.dstack([rgb[..., ::-1], np.full(rgb.shape[:2], 7, np.uint8)])),
    ],
)
def test_colour_encodings_decode_to_rgb(encoding, to_message):
    pixels = rgb_pixels()
    decoded = decode_image_numpy(message(np.ascontiguousarray(to_message(pixels)), encoding, padding=2))
    np.testing.assert_array_equal(decoded, pixels)


def test_mono8_is_repeated_into_three_channels():
    grey = rgb_pixels()[..., :1]
    decoded = decode_image_numpy(message(grey, "mono8", padding=1))
    np.testing.assert_array_equal(decoded, np.repeat(grey, 3, axis=2))


@pytest.mark.parametrize("encoding", ["mono16", "16UC1"])
@pytest.mark.parametrize("bigendian", [False, True])
def test_sixteen_bit_grey_honours_byte_order_and_scales_like_cv_bridge(encoding, bigendian):
    values = np.array([[0, 257, 65535], [1000, 32768, 40000]], dtype=np.uint16)
    stored = values.astype(">u2" if bigendian else "<u2")[..., None]
    decoded = decode_image_numpy(message(stored, encoding, padding=2, bigendian=bigendian))
    expected = np.rint(values * (255 / 65535)).astype(np.uint8)
    assert decoded.shape == (2, 3, 3)
    np.testing.assert_array_equal(decoded[..., 0], expected)
    np.testing.assert_array_equal(decoded[..., 0], decoded[..., 2])
    assert decoded[0, 1, 0] == 1 and decoded[0, 2, 0] == 255


def test_big_endian_bytes_read_as_little_endian_would_differ():
    # The test above would pass for a decoder ignoring is_bigendian only if the two readings agreed.
    values = np.array([[1000, 40000]], dtype=np.uint16)
    big = message(values.astype(">u2")[..., None], "mono16", bigendian=True)
    wrong = message(values.astype(">u2")[..., None], "mono16", bigendian=False)
    assert not np.array_equal(decode_image_numpy(big), decode_image_numpy(wrong))


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(data=bytes(50)), "truncated"),
        (dict(encoding="yuv422"), "encoding must be one of"),
        (dict(step=10), "step"),
        (dict(height=0), "height and width"),
    ],
)
def test_broken_messages_raise_value_error_naming_the_problem(change, match):
    msg = message(rgb_pixels(), "rgb8")
    for name, value in change.items():
        setattr(msg, name, value)
    with pytest.raises(ValueError, match=match):
        decode_image_numpy(msg)


def test_last_row_needs_no_padding():
    pixels = rgb_pixels()
    msg = message(pixels, "rgb8", padding=4)
    msg.data = bytes(msg.data)[:-4]
    np.testing.assert_array_equal(decode_image_numpy(msg), pixels)


def test_decoded_frame_does_not_alias_the_message():
    pixels = rgb_pixels()
    msg = message(pixels, "rgb8")
    decoded = decode_image_numpy(msg)
    msg.data[0] = 255 - msg.data[0]
    np.testing.assert_array_equal(decoded, pixels)


@pytest.mark.parametrize("image_format", ["png", "jpeg"])
def test_compressed_images_decode_through_pillow(image_format):
    # A smooth image, so that lossy JPEG stays close to it.
    ramp = np.linspace(0, 255, 32).astype(np.uint8)
    pixels = np.stack(np.broadcast_arrays(ramp[None, :], ramp[:, None], ramp[None, ::-1]), axis=2)
    buffer = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(pixels)).save(buffer, format=image_format, quality=95)
    decoded = decode_compressed_image(CompressedImage(format=image_format, data=buffer.getvalue()))
    assert decoded.shape == (32, 32, 3) and decoded.dtype == np.uint8
    tolerance = 0 if image_format == "png" else 8
    assert np.abs(decoded.astype(int) - pixels.astype(int)).mean() <= tolerance


def test_truncated_compressed_image_raises_value_error():
    buffer = io.BytesIO()
    PILImage.fromarray(rgb_pixels(32, 32)).save(buffer, format="png")
    with pytest.raises(ValueError, match="cannot be decoded"):
        decode_compressed_image(CompressedImage(format="png", data=buffer.getvalue()[:60]))


def test_resize_gives_the_model_size_and_keeps_a_flat_image_flat():
    flat = np.full((480, 640, 3), (10, 120, 250), dtype=np.uint8)
    resized = resize_rgb(flat, (16, 24))
    assert resized.shape == (16, 24, 3) and resized.dtype == np.uint8
    assert (resized == (10, 120, 250)).all()
    assert resize_rgb(flat, (480, 640)) is flat


@pytest.mark.skipif(
    image_messages.CV_BRIDGE is None,
    reason="cv_bridge is not importable (no ROS 2 install): numpy decoding is used",
)
@pytest.mark.parametrize(
    "encoding, pixels",
    [
        ("rgb8", rgb_pixels()),
        ("bgr8", rgb_pixels()),
        ("rgba8", np.random.default_rng(1).integers(0, 256, (5, 7, 4), dtype=np.uint8)),
        ("bgra8", np.random.default_rng(2).integers(0, 256, (5, 7, 4), dtype=np.uint8)),
        ("mono8", rgb_pixels()[..., :1].copy()),
        ("mono16", np.random.default_rng(3).integers(0, 65536, (5, 7, 1), dtype=np.uint16)),
    ],
)
@pytest.mark.parametrize("padding", [0, 6])
def test_cv_bridge_and_numpy_agree(encoding, pixels, padding):
    msg = message(pixels, encoding, padding=padding)
    np.testing.assert_array_equal(decode_image_cv_bridge(msg), decode_image_numpy(msg))
