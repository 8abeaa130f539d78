"""The dataset folder's optional object poses: kept and described when given, absent otherwise, and a
folder written before them still reads."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ros2_vid2world.dataset import DatasetWriter, EpisodeDataset


def episode(length: int, seed: int):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (length, 6, 8, 3), dtype=np.uint8),
        rng.normal(size=(length, 2)).astype(np.float32),
        rng.normal(size=(length, 2)).astype(np.float32),
    )


def poses(length: int, seed: int) -> np.ndarray:
    return np.random.default_rng(100 + seed).uniform(-0.2, 0.2, (length, 3)).astype(np.float32)


def test_object_poses_read_back_per_episode_and_the_manifest_says_what_they_are(tmp_path):
    writer = DatasetWriter(tmp_path / "d", fps=10, joint_names=["x", "y"], object_pose_source="/object_pose")
    with writer:
        writer.add_episode(*episode(4, 0), object_poses=poses(4, 0))
        writer.add_episode(*episode(3, 1), object_poses=poses(3, 1))
        writer.close()
    data = EpisodeDataset(tmp_path / "d")
    assert data.manifest["object_poses"] == {
        "source": "/object_pose", "fields": ["x", "y", "yaw"], "units": ["m", "m", "rad"]
    }
    assert data.object_poses.shape == (7, 3) and data.object_poses.dtype == np.float32
    np.testing.assert_array_equal(data.episode(0)["object_poses"], poses(4, 0))
    np.testing.assert_array_equal(data.episode(1)["object_poses"], poses(3, 1))


def test_without_a_source_nothing_is_kept_and_older_folders_read_as_before(tmp_path):
    with DatasetWriter(tmp_path / "d", fps=10, joint_names=["x", "y"]) as writer:
        writer.add_episode(*episode(4, 0))
        writer.close()
    assert not (tmp_path / "d" / "object_poses.npy").exists()
    data = EpisodeDataset(tmp_path / "d")
    assert "object_poses" not in data.manifest and data.object_poses is None
    assert set(data.episode(0)) == {"frames", "actions", "joints", "stamps"}


def test_a_manifest_that_lists_object_poses_without_their_file_is_refused(tmp_path):
    with DatasetWriter(tmp_path / "d", fps=10, object_pose_source="/object_pose") as writer:
        writer.add_episode(*episode(4, 0)[:2], object_poses=poses(4, 0))
        writer.close()
    (tmp_path / "d" / "object_poses.npy").unlink()
    with pytest.raises(ValueError, match="cannot read object_poses.npy"):
        EpisodeDataset(tmp_path / "d")
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    del manifest["object_poses"]
    (tmp_path / "d" / "manifest.json").write_text(json.dumps(manifest))
    assert EpisodeDataset(tmp_path / "d").object_poses is None


@pytest.mark.parametrize(
    "source, given, match",
    [
        (None, poses(4, 0), "exactly when the writer keeps them"),
        ("/object_pose", None, "exactly when the writer keeps them"),
        ("/object_pose", poses(3, 0), r"must be finite \[4, 3\]"),
        ("/object_pose", np.full((4, 3), np.nan, np.float32), r"must be finite \[4, 3\]"),
    ],
)
def test_object_poses_that_do_not_fit_the_writer_are_refused_and_nothing_is_written(
    tmp_path, source, given, match
):
    with pytest.raises(ValueError, match=match):
        with DatasetWriter(tmp_path / "d", fps=10, object_pose_source=source) as writer:
            writer.add_episode(*episode(4, 0)[:2], object_poses=given)
            writer.close()
    assert list(tmp_path.iterdir()) == []
