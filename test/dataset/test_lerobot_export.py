"""Dataset folders -> LeRobot v3.0 datasets: the layout LeRobot reads, and a round trip back through the
import that gives the same episodes (frames within the codec's tolerance); bad input refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.dataset import DatasetWriter, EpisodeDataset
from ros2_vid2world.dataset.lerobot_export import LeRobotExport, lerobot_from_dataset

from .lerobot_files import JOINTS, block_frames
from .test_lerobot_import import assert_frames_match

LENGTHS = [5, 8, 6]
CAMERA = "observation.images.camera"


def write_dataset(path, lengths=LENGTHS, fps=10.0, size=None, joints=True):
    """Episodes of distinct block frames, random joints and actions; their arrays per episode."""
    rng = np.random.default_rng(3)
    written = []
    with DatasetWriter(path, fps=fps, joint_names=JOINTS if joints else None) as writer:
        for number, length in enumerate(lengths):
            frames = block_frames(length, 50 + number)
            if size is not None:
                frames = np.ascontiguousarray(frames[:, : size[0], : size[1]])
            actions = rng.normal(size=(length, 2)).astype(np.float32)
            states = rng.normal(size=(length, len(JOINTS))).astype(np.float32) if joints else None
            stamps = 1_700_000_000_000_000_000 + np.arange(length) * 100_000_000 + 1_234  # bag time, jittered
            writer.add_episode(frames, actions, states, stamps=stamps, source=f"bag{number}")
            written.append((frames, actions, states))
        writer.close(action_space="joint_velocity")
    return written


def one_error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world dataset: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A dataset folder and its LeRobot export (through the CLI)."""
    folder = tmp_path_factory.mktemp("export")
    written = write_dataset(folder / "arm")
    argv = ["dataset", str(folder / "arm"), "--to-lerobot", str(folder / "lerobot"), "--task", "reach"]
    assert main(argv) == 0
    return folder, written


def test_export_then_import_gives_the_same_episodes(exported, tmp_path):
    folder, written = exported
    assert main(["dataset", "--lerobot", str(folder / "lerobot"), "--out", str(tmp_path / "back")]) == 0
    original, back = EpisodeDataset(folder / "arm"), EpisodeDataset(tmp_path / "back")
    assert [e["length"] for e in back.episodes] == LENGTHS
    np.testing.assert_array_equal(back.actions, original.actions)
    np.testing.assert_array_equal(back.joints, original.joints)
    assert back.manifest["joint_names"] == JOINTS and back.image_size == original.image_size
    assert_frames_match(np.asarray(back.frames), np.asarray(original.frames))
    # LeRobot keeps time from each episode's start at the fixed rate: stamps come back as such.
    for number, length in enumerate(LENGTHS):
        np.testing.assert_array_equal(back.episode(number)["stamps"], np.arange(length) * 100_000_000)


def test_the_layout_is_lerobot_v3(exported):
    folder, written = exported
    root = folder / "lerobot"
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 10 and isinstance(info["fps"], int)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, sum(LENGTHS), 1)
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    features = info["features"]
    assert list(features) == [CAMERA, "observation.state", "action", "timestamp", "frame_index",
                              "episode_index", "index", "task_index"]  # fmt: skip
    assert features[CAMERA]["dtype"] == "video" and features[CAMERA]["shape"] == [32, 48, 3]
    assert features[CAMERA]["info"]["video.codec"] == "h264" and features[CAMERA]["info"]["video.fps"] == 10
    assert features["observation.state"] == {"dtype": "float32", "shape": [3], "names": JOINTS, "fps": 10}
    assert features["action"]["shape"] == [2] and features["action"]["names"] == ["action_0", "action_1"]

    rows = pq.read_table(root / "data" / "chunk-000" / "file-000.parquet")
    assert rows.schema.field("action").type == pa.list_(pa.float32(), 2)
    assert rows["index"].to_pylist() == list(range(sum(LENGTHS)))
    frame_index = np.concatenate([np.arange(length) for length in LENGTHS])
    assert rows["frame_index"].to_pylist() == frame_index.tolist()
    np.testing.assert_array_equal(rows["timestamp"].to_numpy(), (frame_index / 10).astype(np.float32))
    assert rows["episode_index"].to_pylist() == np.repeat([0, 1, 2], LENGTHS).tolist()

    episodes = pq.read_table(root / "meta" / "episodes" / "chunk-000" / "file-000.parquet").to_pylist()
    starts = np.concatenate([[0], np.cumsum(LENGTHS)])
    for number, row in enumerate(episodes):
        assert (row["episode_index"], row["length"], row["tasks"]) == (number, LENGTHS[number], ["reach"])
        assert (row["dataset_from_index"], row["dataset_to_index"]) == (starts[number], starts[number + 1])
        # One video file: each episode starts where the one before ends.
        assert row[f"videos/{CAMERA}/file_index"] == 0
        assert row[f"videos/{CAMERA}/from_timestamp"] == pytest.approx(starts[number] / 10)
        assert row[f"videos/{CAMERA}/to_timestamp"] == pytest.approx(starts[number + 1] / 10)
        assert row["stats/action/max"] == pytest.approx(written[number][1].max(0).tolist())

    tasks = pq.read_table(root / "meta" / "tasks.parquet")
    assert tasks.to_pylist() == [{"task_index": 0, "task": "reach"}]
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]  # pandas reads it so

    stats = json.loads((root / "meta" / "stats.json").read_text())
    actions = np.concatenate([actions for _, actions, _ in written])
    assert stats["action"]["mean"] == pytest.approx(actions.mean(0).tolist(), abs=1e-6)
    assert stats["action"]["count"] == [sum(LENGTHS)]
    assert np.asarray(stats[CAMERA]["mean"]).shape == (3, 1, 1) and 0 < np.min(stats[CAMERA]["mean"]) < 1


def test_episodes_roll_over_into_new_files(tmp_path):
    write_dataset(tmp_path / "arm")
    summary = lerobot_from_dataset(tmp_path / "arm", tmp_path / "lerobot", LeRobotExport(video_file_mb=1e-6))
    assert summary["video_files"] == 3
    episodes = pq.read_table(tmp_path / "lerobot" / "meta" / "episodes" / "chunk-000" / "file-000.parquet")
    assert episodes[f"videos/{CAMERA}/file_index"].to_pylist() == [0, 1, 2]
    assert episodes["data/file_index"].to_pylist() == [0, 1, 2]
    assert episodes[f"videos/{CAMERA}/from_timestamp"].to_pylist() == [0.0, 0.0, 0.0]
    assert main(["dataset", "--lerobot", str(tmp_path / "lerobot"), "--out", str(tmp_path / "back")]) == 0
    original, back = EpisodeDataset(tmp_path / "arm"), EpisodeDataset(tmp_path / "back")
    np.testing.assert_array_equal(back.actions, original.actions)
    assert_frames_match(np.asarray(back.frames), np.asarray(original.frames))


def test_a_dataset_without_joints_has_no_state(tmp_path):
    write_dataset(tmp_path / "arm", joints=False)
    options = LeRobotExport(camera_key="observation.images.top")
    lerobot_from_dataset(tmp_path / "arm", tmp_path / "lerobot", options)
    info = json.loads((tmp_path / "lerobot" / "meta" / "info.json").read_text())
    assert "observation.state" not in info["features"] and "observation.images.top" in info["features"]
    table = tmp_path / "lerobot" / "data" / "chunk-000" / "file-000.parquet"
    assert pq.read_schema(table).names == ["action", "timestamp", "frame_index", "episode_index", "index",
                                           "task_index"]  # fmt: skip


@pytest.mark.parametrize("make, extra, match", [
    (lambda path: write_dataset(path, fps=7.5), [],
     "is at 7.5 fps; a LeRobot dataset's rate is a whole number of frames per second"),
    (lambda path: write_dataset(path, size=(31, 48)), [],
     "frames are 31x48; H.264 in yuv420p needs an even height and width"),
    (lambda path: path.mkdir(), [], "no manifest.json"),
    (write_dataset, ["--size", "16x16"], "--size does not apply to --to-lerobot."),
    (write_dataset, ["--out", "elsewhere"], "--to-lerobot OUT names the folder to write; --out does not"),
    (write_dataset, ["--camera-key", "action"], "--camera-key must name a feature of its own. Got 'action'."),
])  # fmt: skip
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, make, extra, match):
    make(tmp_path / "arm")
    argv = ["dataset", str(tmp_path / "arm"), "--to-lerobot", str(tmp_path / "lr"), *extra]
    assert match in one_error_line(capsys, argv)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arm"]  # no LeRobot folder, no staging left


def test_an_existing_folder_needs_force_and_is_then_replaced(tmp_path, capsys):
    write_dataset(tmp_path / "arm")
    (tmp_path / "lerobot").mkdir()
    argv = ["dataset", str(tmp_path / "arm"), "--to-lerobot", str(tmp_path / "lerobot")]
    line = one_error_line(capsys, argv)
    assert f"--to-lerobot {str(tmp_path / 'lerobot')!r} already exists; pass --force" in line
    assert main([*argv, "--force", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3
    assert (tmp_path / "lerobot" / "meta" / "info.json").is_file()
