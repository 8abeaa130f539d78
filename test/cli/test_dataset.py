"""`vid2world dataset`: --json summary, and bad input as one error line, exit 2 and nothing written."""

import json

import numpy as np
import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.dataset import EpisodeDataset
from test.bags.sim_bags import (
    ACTION_TOPIC,
    IMAGE_TOPIC,
    JOINT_TOPIC,
    MS,
    float_array_msg,
    frame_pixels,
    image_msg,
    write_records,
    write_sim_bag,
)

TOPICS = ["--image-topic", IMAGE_TOPIC, "--joint-topic", JOINT_TOPIC, "--action-topic", ACTION_TOPIC]


def dataset_args(bag, out, *extra):
    return ["dataset", str(bag), "--out", str(out), *TOPICS, *extra]


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world dataset: error: "), err
    return err[0]


def assert_nothing_written(folder):
    """No dataset, and no staging folder left beside where it would have been."""
    assert not (folder / "ds").exists()
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".ds.")]


@pytest.fixture(scope="module")
def sim_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("bags") / "sim"
    write_sim_bag(path, episodes=2, frames=6)
    return path


def test_json_prints_one_object_with_episodes_and_frames(tmp_path, sim_bag, capsys):
    assert main(dataset_args(sim_bag, tmp_path / "ds", "--json", "--size", "6x8")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 2 and summary["frames"] == 12 and summary["image_size"] == [6, 8]
    assert EpisodeDataset(tmp_path / "ds").frames.shape == (12, 6, 8, 3)


def test_plain_output_names_the_folder_and_counts(tmp_path, sim_bag, capsys):
    assert main(dataset_args(sim_bag, tmp_path / "ds")) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'ds'}: 2 episodes, 12 frames at 10 fps, 12x16, action_dim=2")


def test_existing_out_needs_force_and_a_failed_run_keeps_the_old_dataset(tmp_path, sim_bag, capsys):
    assert main(dataset_args(sim_bag, tmp_path / "ds")) == 0
    before = np.array(EpisodeDataset(tmp_path / "ds").frames)
    assert "already exists; pass --force" in one_error_line(capsys, dataset_args(sim_bag, tmp_path / "ds"))
    (tmp_path / "empty").mkdir()
    write_records(tmp_path / "empty" / "bag", [])
    one_error_line(capsys, dataset_args(tmp_path / "empty" / "bag", tmp_path / "ds", "--force"))
    np.testing.assert_array_equal(EpisodeDataset(tmp_path / "ds").frames, before)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".ds.")]


def test_missing_topic_lists_the_bags_topics_and_types(tmp_path, sim_bag, capsys):
    argv = dataset_args(sim_bag, tmp_path / "ds")
    argv[argv.index(ACTION_TOPIC)] = "/arm/commands"
    line = one_error_line(capsys, argv)
    assert "action topic '/arm/commands' is not in the bag" in line
    assert f"{IMAGE_TOPIC} (sensor_msgs/msg/Image)" in line and "/clock (rosgraph_msgs/msg/Clock)" in line
    assert f"{ACTION_TOPIC} (std_msgs/msg/Float64MultiArray)" in line
    assert_nothing_written(tmp_path)


def test_unsupported_message_type_is_named(tmp_path, sim_bag, capsys):
    argv = dataset_args(sim_bag, tmp_path / "ds")
    argv[argv.index(IMAGE_TOPIC)] = JOINT_TOPIC
    argv[argv.index(JOINT_TOPIC, argv.index("--joint-topic"))] = IMAGE_TOPIC
    line = one_error_line(capsys, argv)
    assert f"camera topic '{JOINT_TOPIC}' carries sensor_msgs/msg/JointState; supported: " in line


def test_unsupported_image_encoding_is_named(tmp_path, capsys):
    write_sim_bag(tmp_path / "bag", encoding="yuv422", episodes=1, frames=3)
    line = one_error_line(capsys, dataset_args(tmp_path / "bag", tmp_path / "ds"))
    assert "has image encoding 'yuv422'; supported: 16UC1" in line
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda path: None, "does not exist"),
        (lambda path: path.mkdir(), "is not a rosbag2 folder"),
        (lambda path: path.write_text("not a bag"), "is not a rosbag2 folder"),
        (lambda path: write_records(path, []), "holds no messages"),
    ],
)
def test_paths_that_are_not_bags(tmp_path, capsys, make, match):
    make(tmp_path / "bag")
    assert match in one_error_line(capsys, dataset_args(tmp_path / "bag", tmp_path / "ds"))
    assert_nothing_written(tmp_path)


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_truncated_bag_is_refused_clearly(tmp_path, capsys, storage):
    write_sim_bag(tmp_path / "bag", storage=storage, episodes=3, frames=10)
    data_file = next(p for p in (tmp_path / "bag").iterdir() if p.suffix in (".db3", ".mcap"))
    data = data_file.read_bytes()
    data_file.write_bytes(data[: len(data) // 2])
    line = one_error_line(capsys, dataset_args(tmp_path / "bag", tmp_path / "ds"))
    assert "truncated or corrupted" in line and str(tmp_path / "bag") in line
    assert_nothing_written(tmp_path)


def test_header_clock_reset_is_refused(tmp_path, capsys):
    # The simulator restarts (sim time back to 1 s) while the recorder's clock runs on.
    records, receive = [], 50_000 * MS
    for stamp in [10_000 + 100 * i for i in range(5)] + [1_000 + 100 * i for i in range(5)]:
        receive += 100 * MS
        records.append(
            (IMAGE_TOPIC, "sensor_msgs/msg/Image", receive, image_msg(frame_pixels(0, 0), stamp * MS))
        )
        records.append((ACTION_TOPIC, "std_msgs/msg/Float64MultiArray", receive + MS, float_array_msg([0.0])))
    write_records(tmp_path / "bag", records)
    argv = [
        "dataset",
        str(tmp_path / "bag"),
        "--out",
        str(tmp_path / "ds"),
        "--image-topic",
        IMAGE_TOPIC,
        "--action-topic",
        ACTION_TOPIC,
    ]
    line = one_error_line(capsys, argv)
    assert "timestamps go backwards by 9.400 s" in line and "Split the bag there" in line
    assert_nothing_written(tmp_path)


def test_bag_time_reset_is_refused(tmp_path, capsys):
    # Bag time itself jumps back (sim time used as bag time, simulator restarted at the same sim
    # time): the reader returns the two runs interleaved, each stamp twice.
    records = []
    for run in range(2):
        for index in range(6):
            stamp = (10_000 + 100 * index) * MS
            records.append(
                (IMAGE_TOPIC, "sensor_msgs/msg/Image", stamp, image_msg(frame_pixels(run, index), stamp))
            )
            records.append(
                (ACTION_TOPIC, "std_msgs/msg/Float64MultiArray", stamp + MS, float_array_msg([0.0]))
            )
    write_records(tmp_path / "bag", records)
    argv = [
        "dataset",
        str(tmp_path / "bag"),
        "--out",
        str(tmp_path / "ds"),
        "--image-topic",
        IMAGE_TOPIC,
        "--action-topic",
        ACTION_TOPIC,
    ]
    assert "timestamps go backwards" in one_error_line(capsys, argv)
    assert_nothing_written(tmp_path)


def test_no_action_and_no_joint_topic_is_refused(tmp_path, sim_bag, capsys):
    argv = ["dataset", str(sim_bag), "--out", str(tmp_path / "ds"), "--image-topic", IMAGE_TOPIC]
    assert "give --action-topic, or --joint-topic" in one_error_line(capsys, argv)


def test_bad_size_is_an_argument_error(tmp_path, sim_bag, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(dataset_args(sim_bag, tmp_path / "ds", "--size", "64"))
    assert exit_info.value.code == 2 and "must be HEIGHTxWIDTH" in capsys.readouterr().err
