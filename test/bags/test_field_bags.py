"""Bags as labs have them: recorded before rosbag2 stored definitions, split across files, with service
events, empty, or with metadata that promises more than the files hold. One place reads them all
(bags/bag_reading.py), so dataset, eval-bag and replay behave alike."""

import logging
import sqlite3
from functools import partial

import numpy as np
import pytest

from ros2_vid2world.bags.bag_episodes import EpisodeOptions
from ros2_vid2world.bags.bag_reading import BagFile
from ros2_vid2world.bags.dataset_from_bags import dataset_from_bags
from ros2_vid2world.bags.message_types import MessageTypes
from ros2_vid2world.bags.replay import ReplayConfig, replayed_connections
from ros2_vid2world.cli import main
from ros2_vid2world.dataset import EpisodeDataset

from .field_bags import table_names, write_field_bag
from .sim_bags import ACTION_TOPIC, IMAGE_TOPIC, JOINT_TOPIC, write_records, write_sim_bag

SIM = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC)
TRIGGER_SRV = "=" * 80 + "\nSRV: std_srvs/srv/Trigger\n---\nbool success\nstring message\n"


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"vid2world {argv[0]}: error: "), err
    return err[0]


def dataset_args(bag, out):
    return ["dataset", str(bag), "--out", str(out), "--image-topic", IMAGE_TOPIC,
            "--joint-topic", JOINT_TOPIC, "--action-topic", ACTION_TOPIC]


def assert_same_dataset(a: EpisodeDataset, b: EpisodeDataset):
    assert a.episodes == b.episodes or [
        {k: v for k, v in e.items() if k != "source"} for e in a.episodes
    ] == [{k: v for k, v in e.items() if k != "source"} for e in b.episodes]
    for name in ("frames", "actions", "joints", "stamps"):
        np.testing.assert_array_equal(a.arrays[name], b.arrays[name])
    assert a.manifest["action_stats"] == b.manifest["action_stats"]
    assert a.manifest["fps"] == b.manifest["fps"]


@pytest.mark.parametrize(
    "storage, style, parts, release",
    [("sqlite3", "humble", 3, "humble"), ("sqlite3", "foxy", 2, "foxy"), ("mcap", "no_definitions", 2, None)],
)
def test_bag_without_definitions_gives_the_same_dataset(tmp_path, storage, style, parts, release):
    reference = tmp_path / "with_definitions"
    truth = write_sim_bag(reference, storage=storage, episodes=2, frames=6)
    old = tmp_path / "old"
    write_sim_bag(old, storage=storage, episodes=2, frames=6,
                  write=partial(write_field_bag, style=style, parts=parts))
    files = sorted(old.glob(f"*.{'db3' if storage == 'sqlite3' else 'mcap'}"))
    assert len(files) == parts
    if style == "humble":
        assert table_names(files[0]) == {"schema", "metadata", "topics", "messages"}
    if style == "foxy":
        assert table_names(files[0]) == {"topics", "messages"}

    dataset_from_bags([reference], tmp_path / "ds_ref", SIM)
    summary = dataset_from_bags([old], tmp_path / "ds_old", SIM)
    assert_same_dataset(EpisodeDataset(tmp_path / "ds_ref"), EpisodeDataset(tmp_path / "ds_old"))
    assert len(EpisodeDataset(tmp_path / "ds_old").episodes) == len(truth.frames)
    definitions = summary["bags"][0]["message_definitions"]
    assert definitions.startswith("standard messages of ROS 2 ")
    if release:  # sqlite3: the release is told from the bag (schema table or metadata version)
        assert f"ROS 2 {release} (" in definitions


def test_ros_distro_chooses_the_standard_messages(tmp_path):
    bag = tmp_path / "old"
    write_sim_bag(bag, episodes=1, frames=3, write=partial(write_field_bag, style="humble"))
    with BagFile(bag) as opened:
        assert "ROS 2 humble (the ros_distro of old_0.db3)" in opened.definitions
    with BagFile(bag, MessageTypes(ros_distro="jazzy")) as opened:
        assert "ROS 2 jazzy (--ros-distro)" in opened.definitions
    with pytest.raises(ValueError, match=r"--ros-distro must be one of \[.*'humble'.*\]. Got 'nope'"):
        MessageTypes(ros_distro="nope")


GRIP_MSG = "float64 width\nstring mode\n"


def write_custom_type_bag(path):
    """A Humble bag with a lab's own message type, which no typestore knows."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.LATEST)
    store.register(get_types_from_msg(GRIP_MSG, "lab_gripper_msgs/msg/Grip"))
    grip = store.types["lab_gripper_msgs/msg/Grip"](width=0.042, mode="pinch")
    raw = bytes(store.serialize_cdr(grip, "lab_gripper_msgs/msg/Grip"))
    write_sim_bag(
        path, episodes=1, frames=3, extra=[("/gripper", "lab_gripper_msgs/msg/Grip", 10_000_000_000, raw)],
        write=partial(write_field_bag, style="humble"),
    )


def test_custom_type_needs_its_definition_and_reads_with_msg_path(tmp_path):
    bag = tmp_path / "custom"
    write_custom_type_bag(bag)
    # The other topics read as usual: an unknown type is an error only where it is read.
    dataset_from_bags([bag], tmp_path / "ds", SIM)
    with BagFile(bag) as opened:
        with pytest.raises(ValueError) as error:
            opened.require_definition("/gripper", "lab_gripper_msgs/msg/Grip")
    message = str(error.value)
    assert "topic /gripper carries lab_gripper_msgs/msg/Grip" in message and "--msg-path DIR" in message

    definitions = tmp_path / "msgs" / "lab_gripper_msgs" / "msg"
    definitions.mkdir(parents=True)
    (definitions / "Grip.msg").write_text(GRIP_MSG)
    with BagFile(bag, MessageTypes(msg_paths=(tmp_path / "msgs",))) as opened:
        opened.require_definition("/gripper", "lab_gripper_msgs/msg/Grip")
        connections = [c for c in opened.reader.connections if c.topic == "/gripper"]
        (connection, ns, raw), = list(opened.messages(connections))
        grip = opened.deserialize(raw, connection.msgtype, ns)
    assert grip.width == pytest.approx(0.042) and grip.mode == "pinch"


def test_msg_path_errors_name_the_folder(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [*dataset_args(tmp_path / "bag", tmp_path / "out"), "--msg-path", str(empty)]
    line = one_error_line(capsys, argv)
    assert f"--msg-path '{empty}' holds no .msg or .idl file" in line
    assert not (tmp_path / "out").exists()


def test_service_events_and_empty_definitions_are_skipped_when_not_asked_for(tmp_path, capsys):
    """mcap as Jazzy records with --all: a service event channel whose stored schema is the raw .srv
    text (rosbags cannot parse it) and an action topic stored with an empty definition."""
    bag = tmp_path / "services"
    event = b"\x00\x01\x00\x00" + bytes(40)
    write_sim_bag(
        bag, storage="mcap", episodes=1, frames=4,
        extra=[
            ("/trigger/_service_event", "std_srvs/srv/Trigger_Event", 10_050_000_000, event),
            ("/move/_action/status", "action_msgs/msg/GoalStatusArray", 10_060_000_000, bytes(8)),
        ],
        write=partial(write_records, definitions={"std_srvs/srv/Trigger_Event": TRIGGER_SRV,
                                                  "action_msgs/msg/GoalStatusArray": ""}),
    )
    assert main(dataset_args(bag, tmp_path / "ds")) == 0
    assert len(EpisodeDataset(tmp_path / "ds").episodes) == 1
    with BagFile(bag) as opened:
        with pytest.raises(ValueError, match="whose stored definition cannot be parsed"):
            opened.require_definition("/trigger/_service_event", "std_srvs/srv/Trigger_Event")
        opened.require_definition("/move/_action/status", "action_msgs/msg/GoalStatusArray")  # standard
        capsys.readouterr()
        replayed = {c.topic for c in replayed_connections(opened, ReplayConfig())}
    assert "/trigger/_service_event" not in replayed and IMAGE_TOPIC in replayed
    skipped = capsys.readouterr().err.strip().splitlines()
    assert skipped == [
        "replay: skipping /trigger/_service_event: std_srvs/srv/Trigger_Event is a service or action event, "
        "not a message type"
    ]


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_empty_bag_holds_no_messages(tmp_path, capsys, storage):
    """A recording stopped before any message: topics listed, none recorded (Humble-style too)."""
    bag = tmp_path / "empty"
    style = "humble" if storage == "sqlite3" else "no_definitions"
    write_field_bag(bag, [("/camera/image_raw", "sensor_msgs/msg/Image", 1, b"")][:0], storage, style)
    for argv in (dataset_args(bag, tmp_path / "ds"), ["replay", str(bag)]):
        assert f"bag '{bag}' holds no messages." in one_error_line(capsys, argv)
    assert not (tmp_path / "ds").exists()


def drop_messages(bag, topic: str, keep_every: int = 0) -> None:
    """Delete `topic`'s rows from every .db3 of the bag (keep every n-th), leaving metadata.yaml as is."""
    for db3 in bag.glob("*.db3"):
        with sqlite3.connect(db3) as db:
            (topic_id,) = db.execute("SELECT id FROM topics WHERE name = ?", (topic,)).fetchone()
            condition = f" AND id % {keep_every} != 0" if keep_every else ""
            db.execute(f"DELETE FROM messages WHERE topic_id = ?{condition}", (topic_id,))
        db.close()


def test_metadata_listing_messages_the_files_lack_is_an_error(tmp_path, capsys):
    bag = tmp_path / "hollow"
    write_sim_bag(bag, episodes=1, frames=4)
    for topic in (IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, "/clock"):
        drop_messages(bag, topic)
    line = one_error_line(capsys, dataset_args(bag, tmp_path / "ds"))
    assert "its metadata.yaml lists messages that its files do not hold" in line
    assert f"{IMAGE_TOPIC}: 0 read, 4 listed" in line
    assert not (tmp_path / "ds").exists()


def test_replay_of_a_bag_whose_files_hold_nothing_fails(tmp_path, capsys):
    bag = tmp_path / "hollow"
    write_sim_bag(bag, episodes=1, frames=2)
    for topic in (IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, "/clock"):
        drop_messages(bag, topic)
    line = one_error_line(capsys, ["replay", str(bag), "--rate", "20", "--clock-rate", "0"])
    assert "lists messages that its files do not hold" in line and "/joint_states: 0 read, 4 listed" in line


def test_fewer_messages_than_listed_is_a_warning_naming_the_counts(tmp_path, caplog):
    bag = tmp_path / "short"
    write_sim_bag(bag, episodes=1, frames=6)
    drop_messages(bag, JOINT_TOPIC, keep_every=2)
    with caplog.at_level(logging.WARNING):
        dataset_from_bags([bag], tmp_path / "ds", SIM)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("messages read differ from its metadata.yaml" in w and f"{JOINT_TOPIC}: 6 read, 12 listed" in w
               for w in warnings), warnings
