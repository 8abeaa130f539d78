"""mp4 <-> frames: frames come back by time whatever order they are asked in; what is written reads back."""

from __future__ import annotations

import numpy as np
import pytest

from ros2_vid2world.dataset.video_frames import MissingFrame, VideoReader, VideoWriter

from .lerobot_files import FPS, SIZE, block_frames, write_mp4
from .test_lerobot_import import assert_frames_match


def test_frames_are_found_by_time_ahead_behind_and_far_ahead(tmp_path):
    frames = block_frames(40, 7)
    write_mp4(tmp_path / "video.mp4", frames)
    with VideoReader(tmp_path / "video.mp4", FPS) as reader:
        # Far ahead (a seek), back to the start (a seek back), on (decoding forward), to the end.
        for first, end in [(30, 35), (0, 4), (10, 12), (25, 40)]:
            got = np.stack(reader.frames_at(np.arange(first, end) / FPS))
            assert_frames_match(got, frames[first:end])
        with pytest.raises(MissingFrame) as missing:
            reader.frames_at(np.array([3.9, 4.0, 4.1]))  # the last frame is at 3.9 s
    assert missing.value.found == 1 and missing.value.at_end


def test_written_frames_read_back_at_n_over_fps(tmp_path):
    frames = block_frames(12, 3)
    writer = VideoWriter(tmp_path / "out" / "video.mp4", FPS, SIZE)
    for frame in frames:
        writer.write(frame)
    writer.close()
    assert writer.frames == 12 and writer.info["video.codec"] == "h264" and writer.info["video.fps"] == FPS
    with VideoReader(tmp_path / "out" / "video.mp4", FPS) as reader:
        assert_frames_match(np.stack(reader.frames_at(np.arange(12) / FPS)), frames)
    with pytest.raises(ValueError, match="frames are 15x16; H.264 in yuv420p needs an even height and width"):
        VideoWriter(tmp_path / "odd.mp4", FPS, (15, 16))
