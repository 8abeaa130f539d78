"""Training clips (ros2_vid2world/training/clips.py): turn oversampling and how the trainer draws clips."""

import numpy as np
import pytest
import torch

from ros2_vid2world.dataset import DatasetWriter, EpisodeDataset
from ros2_vid2world.training.clips import ClipDataset, clip_turns, clip_weights
from ros2_vid2world.training.trainer import draw_clips


def turning_dataset(path, yaws_deg: list[list[float]]):
    """One episode per list of object yaws (degrees), the object still at the centre; its path."""
    names = ["pusher_x", "pusher_y"]
    with DatasetWriter(path, fps=5, joint_names=names, object_pose_source="synthetic") as w:
        for yaws in yaws_deg:
            length = len(yaws)
            poses = np.zeros((length, 3), np.float32)
            poses[:, 2] = np.deg2rad(yaws)
            w.add_episode(np.zeros((length, 8, 8, 3), np.uint8), np.zeros((length, 2), np.float32),
                          joints=np.zeros((length, 2), np.float32), object_poses=poses, source="synthetic")
        w.close()
    return path


def test_a_clip_is_weighted_by_the_bands_its_largest_turn_exceeds(tmp_path):
    """3-frame clips: the turn is the largest from the clip's first frame, the shorter way round (the
    170 -> -175 step is 15 degrees, not 345), and each of the 5, 10, 20 degree bands it exceeds adds
    `oversampling` to the weight of 1."""
    dataset = EpisodeDataset(turning_dataset(tmp_path / "d", [[0, 3, 4, 12, 40], [170, -175, -175]]))
    starts = dataset.clip_starts(3)
    np.testing.assert_allclose(clip_turns(dataset, starts, 3), [4, 9, 36, 15], atol=1e-4)
    np.testing.assert_allclose(clip_weights(dataset, starts, 3, 2.0), [1, 3, 7, 5])
    assert clip_weights(dataset, starts, 3, 0.0) is None


def test_turn_oversampling_needs_object_poses(square_dataset):
    dataset = EpisodeDataset(square_dataset)
    with pytest.raises(ValueError, match="keeps no object poses: --turn-oversampling needs them"):
        ClipDataset(dataset, [0, 1], 3, turn_oversampling=1.0)
    assert ClipDataset(dataset, [0, 1], 3).weights is None


def test_the_trainer_draws_clips_as_often_as_their_weights_say(tmp_path):
    """Of four clips, one turning 40 degrees with oversampling 3 weighs 10 against 1 each: about 10/13 of
    the draws; without oversampling, about a quarter."""
    path = turning_dataset(tmp_path / "d", [[0, 0, 0, 0, 0, 40]])
    dataset = EpisodeDataset(path)
    generator = torch.Generator().manual_seed(0)
    heavy = ClipDataset(dataset, [0], 3, turn_oversampling=3.0)
    np.testing.assert_allclose(heavy.weights, [1, 1, 1, 10])
    share = np.mean(np.array(draw_clips(heavy, 4000, generator)) == 3)
    assert share == pytest.approx(10 / 13, abs=0.03)
    alike = np.mean(np.array(draw_clips(ClipDataset(dataset, [0], 3), 4000, generator)) == 3)
    assert alike == pytest.approx(0.25, abs=0.03)
