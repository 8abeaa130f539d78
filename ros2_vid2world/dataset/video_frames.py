"""mp4 files <-> uint8 RGB frames with PyAV: frames picked by time from a video, written at a fixed rate.

A frame's time is its presentation stamp (pts x time base), the clock LeRobot's own readers match row
timestamps against. PyAV is imported when a video is opened, not when this module is.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

# H.264 in yuv420p: one of the codecs LeRobot itself writes (its `h264`), and one that every reader of
# LeRobot datasets (torchcodec, PyAV, a browser's video element) decodes. LeRobot's default AV1 reads too.
EXPORT_CODEC = "libx264"
EXPORT_PIX_FMT = "yuv420p"
# A keyframe every 2 frames, as LeRobot writes, so that a training loader seeking to any frame decodes at
# most one other; crf 18 keeps camera frames visually lossless (flat colours come back within a few levels).
EXPORT_OPTIONS = {"g": "2", "crf": "18"}

# A frame is a row's frame when its time is within this share of a frame period of the row's: lenient
# to stamp rounding in coarse time bases, and too narrow for one frame to serve two rows.
MATCH_TOLERANCE = 0.4
# When the next wanted frame is further ahead than this, seek to it rather than decode everything between.
SEEK_AHEAD_S = 2.0


class MissingFrame(ValueError):
    """No frame of the video is at a wanted time: `found` frames were, `at_end` when the video ended."""

    def __init__(self, found: int, at_end: bool, time: float):
        super().__init__(f"no frame at {time:.4f} s")
        self.found, self.at_end, self.time = found, at_end, time


class VideoReader:
    """One mp4, decoded once front to back, handing out the frames at requested times.

    Requests must come in increasing time (a v3.0 file's episodes one after the other).
    """

    def __init__(self, path: Path, fps: float):
        import av

        self.path = path
        self._error = av.error.FFmpegError
        try:
            self._container = av.open(str(path))
        except (self._error, OSError) as exc:
            raise ValueError(f"video {str(path)!r} cannot be opened ({exc}).") from None
        if not self._container.streams.video:
            self._container.close()
            raise ValueError(f"video {str(path)!r} holds no video stream.")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.tolerance = MATCH_TOLERANCE / fps
        self._restart()
        self._position = -np.inf  # time of the last frame taken from the decoder

    def frames_at(self, times: np.ndarray) -> list[np.ndarray]:
        """uint8 [H, W, 3] frames nearest to each of `times` (seconds, increasing); raises MissingFrame."""
        # Seek when the frames wanted are behind those decoded, or far enough ahead to skip decoding to them.
        if len(times) and (times[0] <= self._position or times[0] - max(self._position, 0.0) > SEEK_AHEAD_S):
            target = max(times[0] - self.tolerance, 0.0)
            self._container.seek(int(target / self._stream.time_base), stream=self._stream, backward=True)
            self._restart()
        frames = []
        for found, wanted in enumerate(times):
            best = None
            while (frame := self._peek()) is not None and frame.time <= wanted + self.tolerance:
                self._next = None
                self._position = frame.time
                distance = abs(frame.time - wanted)
                if distance <= self.tolerance and (best is None or distance < abs(best.time - wanted)):
                    best = frame
            if best is None:
                raise MissingFrame(found, self._peek() is None, float(wanted))
            frames.append(best.to_ndarray(format="rgb24"))
        return frames

    def _restart(self) -> None:
        self._frames = (f for f in self._container.decode(self._stream) if f.pts is not None)
        self._next = None

    def _peek(self):
        """The next decoded frame, not yet taken; None at the end of the video."""
        if self._next is None:
            try:
                self._next = next(self._frames, None)
            except self._error as exc:
                raise ValueError(f"video {str(self.path)!r} cannot be decoded ({exc}).") from None
        return self._next

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class VideoWriter:
    """uint8 [H, W, 3] RGB frames -> an mp4 (H.264, yuv420p) where frame n is shown at n / fps."""

    def __init__(self, path: Path, fps: int, size: tuple[int, int]):
        import av

        height, width = size
        if height % 2 or width % 2:
            raise ValueError(
                f"frames are {height}x{width}; H.264 in {EXPORT_PIX_FMT} needs an even height and width "
                "(rebuild the dataset with an even --size)."
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        self._frame_class = av.VideoFrame
        self._container = av.open(str(path), "w")
        self._stream = self._container.add_stream(EXPORT_CODEC, rate=fps, options=EXPORT_OPTIONS)
        self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, EXPORT_PIX_FMT
        self._time_base = Fraction(1, fps)
        self.fps = fps
        self.size = (height, width)
        self.frames = 0
        self.bytes = 0

    def write(self, frame: np.ndarray) -> None:
        picture = self._frame_class.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        picture.pts, picture.time_base = self.frames, self._time_base
        self._mux(self._stream.encode(picture))
        self.frames += 1

    def close(self) -> None:
        self._mux(self._stream.encode())  # flush the frames the encoder still holds
        self._container.close()

    def _mux(self, packets) -> None:
        for packet in packets:
            self.bytes += packet.size
            self._container.mux(packet)

    @property
    def info(self) -> dict:
        """The `info` of a LeRobot video feature (what readers check before decoding)."""
        height, width = self.size
        return {
            "video.height": height,
            "video.width": width,
            "video.codec": self._stream.codec_context.codec.canonical_name,
            "video.pix_fmt": EXPORT_PIX_FMT,
            "video.is_depth_map": False,
            "video.fps": self.fps,
            "video.channels": 3,
            "has_audio": False,
        }
