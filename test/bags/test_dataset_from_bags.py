"""Bags written here with rosbags -> datasets checked frame by frame against what was written."""

import numpy as np
import pytest

from ros2_vid2world.bags.bag_episodes import EpisodeOptions
from ros2_vid2world.bags.dataset_from_bags import dataset_from_bags
from ros2_vid2world.dataset import EpisodeDataset
from ros2_vid2world.image_messages import resize_rgb

from .sim_bags import (
    ACTION_TOPIC,
    IMAGE_TOPIC,
    JOINT_NAMES,
    JOINT_TOPIC,
    MS,
    TRAJECTORY_TOPIC,
    float_array_msg,
    frame_pixels,
    image_msg,
    joint_msg,
    write_records,
    write_sim_bag,
)

SIM = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC)


def assert_matches(dataset, truth, episodes=None):
    """Every episode's frames, stamps, joints and actions equal what the bag was written with."""
    episodes = range(len(truth.frames)) if episodes is None else episodes
    assert len(dataset.episodes) == len(episodes)
    for number, written in enumerate(episodes):
        got = dataset.episode(number)
        np.testing.assert_array_equal(got["frames"], truth.frames[written])
        np.testing.assert_array_equal(got["stamps"], truth.stamps[written])
        np.testing.assert_allclose(got["joints"], truth.joints[written], atol=1e-6)
        np.testing.assert_allclose(got["actions"], truth.actions[written], atol=1e-6)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_sim_bag_becomes_a_dataset_equal_to_what_was_written(tmp_path, storage):
    truth = write_sim_bag(tmp_path / "bag", storage=storage, episodes=2, frames=8)
    summary = dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM)
    dataset = EpisodeDataset(tmp_path / "ds")
    assert_matches(dataset, truth)
    assert summary["episodes"] == 2 and summary["frames"] == 16 and summary["fps"] == 10.0
    manifest = dataset.manifest
    assert manifest["joint_names"] == JOINT_NAMES and manifest["image_size"] == [12, 16]
    assert manifest["topics"] == {"image": IMAGE_TOPIC, "joints": JOINT_TOPIC, "actions": ACTION_TOPIC}
    assert manifest["sources"][0]["storage"] == storage and manifest["sources"][0]["unpaired_frames"] == 0
    # Statistics cover every action but the last of each episode (it leads nowhere).
    used = np.concatenate([a[:-1] for a in truth.actions])
    np.testing.assert_allclose(manifest["action_stats"]["mean"], used.mean(0), atol=1e-6)
    np.testing.assert_allclose(manifest["action_stats"]["max"], used.max(0), atol=1e-6)


@pytest.mark.parametrize("encoding, padding", [("rgb8", 5), ("bgr8", 3)])
def test_padded_rows_and_bgr_decode_to_the_written_pixels(tmp_path, encoding, padding):
    truth = write_sim_bag(tmp_path / "bag", encoding=encoding, padding=padding, episodes=1, frames=4)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM)
    assert_matches(EpisodeDataset(tmp_path / "ds"), truth)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_compressed_images_decode_to_the_written_pixels(tmp_path, storage):
    truth = write_sim_bag(tmp_path / "bag", storage=storage, compressed=True, episodes=1, frames=4)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM)
    assert_matches(EpisodeDataset(tmp_path / "ds"), truth)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_messages_written_out_of_order_give_the_same_dataset(tmp_path, storage):
    truth = write_sim_bag(tmp_path / "bag", storage=storage, shuffle_writes=True)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM)
    assert_matches(EpisodeDataset(tmp_path / "ds"), truth)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_an_episodes_last_frame_without_an_action_is_kept(tmp_path, storage):
    truth = write_sim_bag(tmp_path / "bag", storage=storage, last_frame_action=False)
    summary = dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM)
    assert_matches(EpisodeDataset(tmp_path / "ds"), truth)  # last actions: zeros
    assert summary["bags"][0]["unpaired_frames"] == 0 and summary["frames"] == 16


def test_frames_received_out_of_stamp_order_are_put_back_in_order(tmp_path):
    records, start = [], 10_000 * MS
    for index in range(6):
        stamp = start + index * 100 * MS
        # Frames 2 and 3 reach the recorder swapped (a late frame), as do their actions.
        receive = start + {2: 3, 3: 2}.get(index, index) * 100 * MS + 5 * MS
        records.append(
            (IMAGE_TOPIC, "sensor_msgs/msg/Image", receive, image_msg(frame_pixels(0, index), stamp))
        )
        records.append(
            (ACTION_TOPIC, "std_msgs/msg/Float64MultiArray", stamp + 6 * MS, float_array_msg([index, 0.0]))
        )
    write_records(tmp_path / "bag", records)
    dataset_from_bags(
        [tmp_path / "bag"], tmp_path / "ds", EpisodeOptions(IMAGE_TOPIC, action_topic=ACTION_TOPIC)
    )
    episode = EpisodeDataset(tmp_path / "ds").episode(0)
    np.testing.assert_array_equal(episode["frames"], np.stack([frame_pixels(0, i) for i in range(6)]))
    np.testing.assert_array_equal(episode["actions"][:, 0], np.arange(6))
    assert (np.diff(episode["stamps"]) == 100 * MS).all()


def test_joint_trajectory_actions_use_the_first_points_positions(tmp_path):
    truth = write_sim_bag(tmp_path / "bag", actions="trajectory", storage="mcap")
    summary = dataset_from_bags(
        [tmp_path / "bag"], tmp_path / "ds", EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, TRAJECTORY_TOPIC)
    )
    assert_matches(EpisodeDataset(tmp_path / "ds"), truth)
    assert "first point positions" in summary["action_source"]


def test_without_an_action_topic_actions_are_joint_position_differences(tmp_path):
    truth = write_sim_bag(tmp_path / "bag", actions=None)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC))
    dataset = EpisodeDataset(tmp_path / "ds")
    for number, joints in enumerate(truth.joints):
        actions = dataset.episode(number)["actions"]
        np.testing.assert_allclose(actions[:-1], np.diff(joints, axis=0), atol=1e-6)
        assert (actions[-1] == 0).all()
    assert dataset.manifest["action_source"] == f"joint-position differences of {JOINT_TOPIC}"


def test_joint_states_in_another_order_are_reordered_by_name(tmp_path):
    truth = write_sim_bag(tmp_path / "bag", joint_names=JOINT_NAMES[::-1], episodes=1)
    dataset_from_bags(
        [tmp_path / "bag"], tmp_path / "ds", EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC)
    )
    # The first message fixes the order; here that is the reversed one.
    got = EpisodeDataset(tmp_path / "ds").episode(0)["joints"]
    np.testing.assert_allclose(got, truth.joints[0][:, ::-1], atol=1e-6)


def test_resampling_to_a_lower_rate_and_resizing(tmp_path):
    truth = write_sim_bag(tmp_path / "bag", episodes=1, frames=9)
    options = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, fps=5.0, size=(6, 8))
    summary = dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", options)
    episode = EpisodeDataset(tmp_path / "ds").episode(0)
    kept = [0, 2, 4, 6, 8]
    assert summary["frames"] == 5 and summary["fps"] == 5.0 and summary["image_size"] == [6, 8]
    np.testing.assert_array_equal(
        episode["frames"], np.stack([resize_rgb(truth.frames[0][i], (6, 8)) for i in kept])
    )
    np.testing.assert_array_equal(episode["stamps"], truth.stamps[0][kept])
    np.testing.assert_allclose(episode["actions"], truth.actions[0][kept], atol=1e-6)


def test_frames_without_an_action_within_tolerance_are_dropped_and_counted(tmp_path):
    records, start = [], 10_000 * MS
    for index in range(8):
        stamp = start + index * 100 * MS
        records.append(
            (IMAGE_TOPIC, "sensor_msgs/msg/Image", stamp, image_msg(frame_pixels(0, index), stamp))
        )
        records.append((JOINT_TOPIC, "sensor_msgs/msg/JointState", stamp, joint_msg(stamp)))
        lag = 30 * MS if index == 5 else MS  # this action comes too late to pair within 20 ms
        records.append(
            (ACTION_TOPIC, "std_msgs/msg/Float64MultiArray", stamp + lag, float_array_msg([index, 0.0]))
        )
    write_records(tmp_path / "bag", records)
    options = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, tolerance_s=0.02)
    summary = dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", options)
    assert summary["bags"][0]["unpaired_frames"] == 1
    episode = EpisodeDataset(tmp_path / "ds").episode(0)
    # The 10 Hz clock still ticks at frame 5's time; the nearest paired frame (4, the earlier) fills it.
    np.testing.assert_array_equal(episode["actions"][:, 0], [0, 1, 2, 3, 4, 4, 6, 7])


def test_several_bags_of_both_storages_make_one_dataset(tmp_path):
    first = write_sim_bag(tmp_path / "a", storage="sqlite3", episodes=1)
    second = write_sim_bag(tmp_path / "b", storage="mcap", episodes=2)
    summary = dataset_from_bags([tmp_path / "a", tmp_path / "b"], tmp_path / "ds", SIM)
    dataset = EpisodeDataset(tmp_path / "ds")
    assert summary["episodes"] == 3 and [s["storage"] for s in summary["bags"]] == ["sqlite3", "mcap"]
    assert [e["source"] for e in dataset.episodes] == [str(tmp_path / "a")] + [str(tmp_path / "b")] * 2
    np.testing.assert_array_equal(dataset.episode(0)["frames"], first.frames[0])
    np.testing.assert_array_equal(dataset.episode(2)["frames"], second.frames[1])


def test_progress_bars_go_to_stderr(tmp_path, capsys):
    write_sim_bag(tmp_path / "bag", episodes=1)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", SIM, progress=True)
    captured = capsys.readouterr()
    assert "bag: reading" in captured.err and "bag: frames" in captured.err and captured.out == ""
