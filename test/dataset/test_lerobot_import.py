"""LeRobot datasets written here (v2.1 and v3.0: real parquet, real mp4) -> dataset folders, checked frame by
frame; bad input refused in one line with nothing written; the result trains."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.dataset import EpisodeDataset
from ros2_vid2world.dataset.lerobot_import import LeRobotImport, dataset_from_lerobot
from ros2_vid2world.image_messages import resize_rgb

from .lerobot_files import (
    CAMERA,
    FPS,
    JOINTS,
    MAX_TOLERANCE,
    MEAN_TOLERANCE,
    episodes_truth,
    write_mp4,
    write_v21,
    write_v30,
)

LENGTHS = [6, 9, 7]


def assert_frames_match(got: np.ndarray, truth: np.ndarray) -> None:
    """Within the codec's tolerance, and every decoded frame nearest to its own truth frame of all."""
    error = np.abs(got.astype(int) - truth.astype(int))
    assert error.mean() <= MEAN_TOLERANCE and error.max() <= MAX_TOLERANCE, (error.mean(), error.max())
    distances = ((got[:, None].astype(float) - truth[None].astype(float)) ** 2).mean(axis=(2, 3, 4))
    np.testing.assert_array_equal(distances.argmin(axis=1), np.arange(len(got)))


def assert_dataset_matches(dataset: EpisodeDataset, truth, numbers: list[int], size=None) -> None:
    """Episodes as written: boundaries, frames (codec tolerance), actions and joints exactly, stamps."""
    assert [e["length"] for e in dataset.episodes] == [len(truth.actions[n]) for n in numbers]
    frames = [truth.frames[n] for n in numbers]
    if size is not None:
        frames = [np.stack([resize_rgb(frame, size) for frame in episode]) for episode in frames]
    assert_frames_match(np.asarray(dataset.frames), np.concatenate(frames))
    for position, number in enumerate(numbers):
        got = dataset.episode(position)
        np.testing.assert_array_equal(got["actions"], truth.actions[number])
        np.testing.assert_array_equal(got["joints"], truth.states[number])
        np.testing.assert_array_equal(got["stamps"], np.arange(len(got["stamps"])) * 1_000_000_000 // FPS)


def one_error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world dataset: error: "), err
    return err[0]


def assert_nothing_written(folder: Path) -> None:
    assert not (folder / "ds").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".ds.")]


def edit_info(root: Path, change) -> None:
    info = json.loads((root / "meta" / "info.json").read_text())
    change(info)
    (root / "meta" / "info.json").write_text(json.dumps(info))


@pytest.fixture(scope="module")
def truth():
    return episodes_truth(LENGTHS)


@pytest.fixture(scope="module")
def v30(tmp_path_factory, truth):
    """Three episodes: data in one file; videos: episodes 0 and 1 in one file, 2 in the next."""
    root = tmp_path_factory.mktemp("lerobot") / "v30"
    write_v30(root, truth, data_files=[[0, 1, 2]], video_files=[[0, 1], [2]])
    return root


@pytest.mark.parametrize(
    "version, codec", [("v2.0", "libx264"), ("v2.1", "libx264"), ("v3.0", "libx264"), ("v3.0", "libsvtav1")]
)  # fmt: skip
def test_each_version_imports_frame_by_frame(tmp_path, truth, version, codec):
    root = tmp_path / "lerobot"
    if version.startswith("v2"):
        write_v21(root, truth, codec, version=version)
    else:
        write_v30(root, truth, data_files=[[0, 1], [2]], video_files=[[0, 1, 2]], codec=codec)
    summary = dataset_from_lerobot(root, tmp_path / "ds", LeRobotImport())
    dataset = EpisodeDataset(tmp_path / "ds")
    assert_dataset_matches(dataset, truth, [0, 1, 2])
    manifest = dataset.manifest
    assert manifest["sources"] == [
        {"path": str(root), "format": "lerobot", "codebase_version": version, "episodes": [0, 1, 2]}
    ]
    assert manifest["keys"] == {"image": CAMERA, "joints": "observation.state", "actions": "action"}
    assert manifest["joint_names"] == JOINTS and manifest["image_size"] == [32, 48] and manifest["fps"] == FPS
    # The actions are the joints' next changes: told from the motion, as for bags.
    assert manifest["action_space"] == "joint_delta" and manifest["control_period"] == pytest.approx(0.1)
    assert summary["episodes"] == 3 and summary["frames"] == sum(LENGTHS)


@pytest.mark.parametrize("chosen, numbers", [("0,2", [0, 2]), ("1-2", [1, 2]), ("2", [2])])
def test_chosen_episodes_of_one_video_file(tmp_path_factory, capsys, chosen, numbers):
    # One video file of 3 episodes, the first longer than the reader's seek-ahead (2 s): the chosen
    # episodes are found whether the reader decodes through a skipped one or seeks past it.
    root = tmp_path_factory.mktemp("long") / "v30"
    truth = episodes_truth([24, 5, 8], seed=1)
    write_v30(root, truth, data_files=[[0, 1, 2]], video_files=[[0, 1, 2]])
    out = root.parent / "ds"
    assert main(["dataset", "--lerobot", str(root), "--out", str(out), "--episodes", chosen, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == len(numbers) and summary["lerobot"]["episodes"] == numbers
    assert_dataset_matches(EpisodeDataset(out), truth, numbers)


def test_size_resizes_every_frame(tmp_path, v30, truth):
    dataset_from_lerobot(v30, tmp_path / "ds", LeRobotImport(size=(16, 24)))
    assert_dataset_matches(EpisodeDataset(tmp_path / "ds"), truth, [0, 1, 2], size=(16, 24))


def test_image_features_stored_in_the_table_come_back_exactly(tmp_path, truth):
    write_v21(tmp_path / "lerobot", truth, camera_dtype="image")
    dataset_from_lerobot(tmp_path / "lerobot", tmp_path / "ds", LeRobotImport())
    dataset = EpisodeDataset(tmp_path / "ds")
    np.testing.assert_array_equal(dataset.frames, np.concatenate(truth.frames))  # PNG is lossless
    assert_dataset_matches(dataset, truth, [0, 1, 2])


def test_action_space_given_or_left_open_with_a_warning(tmp_path, v30, caplog):
    summary = dataset_from_lerobot(v30, tmp_path / "given", LeRobotImport(action_space="joint_velocity"))
    assert summary["action_space"] == "joint_velocity" and summary["action_space_source"] == "--action-space"
    # Joint positions taken as the actions: no action space predicts them clearly best.
    with caplog.at_level("WARNING"):
        summary = dataset_from_lerobot(v30, tmp_path / "open", LeRobotImport(action_key="observation.state"))
    assert summary["action_space"] is None and EpisodeDataset(tmp_path / "open").action_space is None
    assert "pass --action-space" in caplog.text


def test_without_state_there_are_no_joints(tmp_path, v30, truth):
    # --state-key names which feature holds the joints; a dataset without observation.state has none.
    root = tmp_path / "nostate"
    shutil.copytree(v30, root)
    edit_info(root, lambda info: info["features"].pop("observation.state"))
    summary = dataset_from_lerobot(root, tmp_path / "ds", LeRobotImport())
    dataset = EpisodeDataset(tmp_path / "ds")
    assert dataset.joints.shape == (sum(LENGTHS), 0) and summary["joint_names"] == []
    assert summary["action_space"] is None  # nothing to tell it from
    np.testing.assert_array_equal(dataset.actions, np.concatenate(truth.actions))


@pytest.mark.parametrize(
    "extra, edit, match",
    [
        (["--state-key", "observation.joints"], None,
         "--state-key 'observation.joints' is not a feature of the dataset; it has: "
         "observation.images.top (video [32, 48, 3]), observation.state (float32 [3]), action (float32 [3])"),
        (["--action-key", "actions"], None, "--action-key 'actions' is not a feature of the dataset"),
        (["--camera-key", "action"], None,
         "--camera-key 'action' is a float32 feature, not a camera (its dtype must be one of "
         f"['video', 'image']); cameras: {CAMERA}."),
        (["--camera-key", "observation.images.side"], None, "--camera-key 'observation.images.side' is not"),
        ([], lambda info: info.update(codebase_version="v1.6"),
         "codebase_version 'v1.6' is not supported; supported: v2.0, v2.1, v3.0."),
        ([], lambda info: info["features"].update({"observation.images.wrist": info["features"][CAMERA]}),
         f"several video features; pass --camera-key, one of: {CAMERA}, observation.images.wrist."),
        (["--episodes", "2-4"], None, "--episodes [3, 4] are not in the LeRobot dataset"),
        (["--image-topic", "/camera"], None, "--image-topic is an option for reading bags, not for"),
        (["--task", "reach"], None, "--task does not apply to --lerobot."),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, v30, capsys, extra, edit, match):
    root = v30
    if edit is not None:
        root = tmp_path / "edited"
        shutil.copytree(v30, root)
        edit_info(root, edit)
    line = one_error_line(capsys, ["dataset", "--lerobot", str(root), "--out", str(tmp_path / "ds"), *extra])
    assert match in line, line
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("make, match", [
    (lambda root: None, "does not exist or is not a folder"),
    (lambda root: (root / "data").mkdir(parents=True), "is not a LeRobot dataset: it has no meta/info.json"),
])  # fmt: skip
def test_a_folder_that_is_not_a_lerobot_dataset(tmp_path, capsys, make, match):
    make(tmp_path / "lerobot")
    argv = ["dataset", "--lerobot", str(tmp_path / "lerobot"), "--out", str(tmp_path / "ds")]
    line = one_error_line(capsys, argv)
    assert str(tmp_path / "lerobot") in line and match in line
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("version", ["v2.1", "v3.0"])
def test_a_video_shorter_than_its_table_names_both_counts(tmp_path, truth, capsys, version):
    root = tmp_path / "lerobot"
    if version == "v2.1":
        write_v21(root, truth)
        video = root / "videos" / "chunk-000" / CAMERA / "episode_000001.mp4"
        write_mp4(video, truth.frames[1][:7])  # 7 of its 9 frames
        counts = "episode 1: the video " + repr(str(video)) + " has 7 frames for it, its table 9 rows."
    else:
        write_v30(root, truth, data_files=[[0, 1, 2]], video_files=[[0, 1], [2]])
        video = root / "videos" / CAMERA / "chunk-000" / "file-001.mp4"
        write_mp4(video, truth.frames[2][:5])  # 5 of its 7 frames
        counts = "episode 2: the video " + repr(str(video)) + " has 5 frames for it, its table 7 rows."
    # The earlier episodes were already written when the short video is found: the folder is dropped.
    argv = ["dataset", "--lerobot", str(root), "--out", str(tmp_path / "ds")]
    assert counts in one_error_line(capsys, argv)
    assert_nothing_written(tmp_path)


def test_an_imported_dataset_trains(tmp_path, v30, capsys, one_torch_thread):
    assert main(["dataset", "--lerobot", str(v30), "--out", str(tmp_path / "ds"), "--size", "16x16"]) == 0
    out = capsys.readouterr().out
    assert "3 episodes, 22 frames at 10 fps, 16x16, action_dim=3" in out and "joint_delta" in out
    argv = ["train", "--data", str(tmp_path / "ds"), "--out", str(tmp_path / "model"), "--preset", "tiny",
            "--pretrain-steps", "1", "--steps", "1", "--clip-frames", "4", "--batch-size", "2",
            "--threads", "1"]  # fmt: skip
    assert main(argv) == 0
    model = json.loads((tmp_path / "model" / "vid2world.json").read_text())
    # What the LeRobot dataset's actions mean travels with the model trained on it.
    assert model["action_dim"] == 3 and model["action_space"] == "joint_delta"
    assert model["control_period"] == pytest.approx(0.1)
