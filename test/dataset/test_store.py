"""The dataset folder: what is written reads back frame by frame; writing is all or nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ros2_vid2world.dataset import DATASET_FORMAT, DatasetWriter, EpisodeDataset


def episode(length: int, seed: int, joints: int = 2):
    rng = np.random.default_rng(seed)
    return (
        rng.integers(0, 256, (length, 6, 8, 3), dtype=np.uint8),
        rng.normal(size=(length, 3)).astype(np.float32),
        rng.normal(size=(length, joints)).astype(np.float32),
    )


def test_episodes_read_back_exactly_with_their_boundaries_and_stats(tmp_path):
    first, second = episode(5, 0), episode(7, 1)
    with DatasetWriter(tmp_path / "d", fps=10, joint_names=["a", "b"]) as writer:
        writer.add_episode(*first, source="bag1")
        writer.add_episode(*second, stamps=np.arange(7) * 100, source="bag2")
        writer.close(topics={"image": "/camera"})

    data = EpisodeDataset(tmp_path / "d")
    assert data.manifest["format"] == DATASET_FORMAT and data.manifest["topics"] == {"image": "/camera"}
    assert data.image_size == (6, 8) and data.action_dim == 3 and len(data.frames) == 12
    assert [(e["start"], e["length"], e["source"]) for e in data.episodes] == [(0, 5, "bag1"), (5, 7, "bag2")]
    for index, (frames, actions, joints) in enumerate((first, second)):
        stored = data.episode(index)
        np.testing.assert_array_equal(stored["frames"], frames)
        np.testing.assert_array_equal(stored["actions"], actions)
        np.testing.assert_array_equal(stored["joints"], joints)
    np.testing.assert_array_equal(data.episode(1)["stamps"], np.arange(7) * 100)
    # Statistics leave out each episode's last action, which leads to no frame.
    used = np.concatenate([first[1][:-1], second[1][:-1]]).astype(np.float64)
    np.testing.assert_allclose(data.action_stats["mean"], used.mean(0), rtol=1e-6)
    np.testing.assert_allclose(data.action_stats["std"], used.std(0), rtol=1e-5)
    np.testing.assert_allclose(data.action_stats["max"], used.max(0), rtol=1e-6)


def test_clips_never_cross_an_episode_boundary(tmp_path):
    with DatasetWriter(tmp_path / "d", fps=10, joint_names=["a", "b"]) as writer:
        for length, seed in ((5, 0), (3, 1), (6, 2)):
            writer.add_episode(*episode(length, seed))
        writer.close()
    data = EpisodeDataset(tmp_path / "d")
    assert data.clip_starts(4).tolist() == [0, 1, 8, 9, 10]
    assert data.clip_starts(4, episodes=[2]).tolist() == [8, 9, 10]


def test_an_error_inside_the_block_leaves_the_older_dataset_intact(tmp_path):
    with DatasetWriter(tmp_path / "d", fps=10, joint_names=["a", "b"]) as writer:
        writer.add_episode(*episode(4, 0))
        writer.close()
    with pytest.raises(RuntimeError):
        with DatasetWriter(tmp_path / "d", fps=10, joint_names=["a", "b"]) as writer:
            writer.add_episode(*episode(9, 1))
            raise RuntimeError("killed")
    assert len(EpisodeDataset(tmp_path / "d").frames) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]  # no staging folder left behind


def test_bad_episodes_are_refused_naming_what_was_expected(tmp_path):
    writer = DatasetWriter(tmp_path / "d", fps=10, joint_names=["a", "b"])
    frames, actions, joints = episode(4, 0)
    with pytest.raises(ValueError, match=r"`frames` must be uint8 \[T, H, W, 3\]"):
        writer.add_episode(frames.astype(np.float32), actions, joints)
    with pytest.raises(ValueError, match=r"`actions` must be \[4, A\]"):
        writer.add_episode(frames, actions[:3], joints)
    with pytest.raises(ValueError, match="NaN or inf"):
        writer.add_episode(frames, np.full_like(actions, np.nan), joints)
    writer.add_episode(frames, actions, joints)
    with pytest.raises(ValueError, match=r"frames per frame is \[6, 9, 3\], earlier episodes had \[6, 8"):
        writer.add_episode(np.zeros((4, 6, 9, 3), np.uint8), actions, joints)
    writer.abort()
    with pytest.raises(ValueError, match="no episodes"):
        DatasetWriter(tmp_path / "e", fps=10).close()


def test_opening_something_that_is_not_a_dataset_says_so(tmp_path):
    with pytest.raises(ValueError, match="no manifest.json"):
        EpisodeDataset(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(ValueError, match="format must be"):
        EpisodeDataset(tmp_path)
