"""Recording random episodes into a rosbag2: what a converter reads back, gaps, atomic writes, determinism."""

from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_typestore

from ros2_vid2world.sim.collect import COMMAND_DELAY_NS, EPISODE_GAP_S, collect
from ros2_vid2world.sim.reacher_env import ReacherConfig
from ros2_vid2world.sim.topics import CLOCK_TOPIC, COMMAND_TOPIC, IMAGE_TOPIC, JOINT_STATES_TOPIC

EPISODES, STEPS, SIZE = 2, 3, 16
PERIOD_NS = 100_000_000


def read_bag(path: Path) -> dict[str, list]:
    """topic -> [(bag time ns, message)] in bag order."""
    messages: dict[str, list] = {}
    with AnyReader([path], default_typestore=get_typestore(Stores.ROS2_KILTED)) as reader:
        for connection, timestamp, raw in reader.messages():
            messages.setdefault(connection.topic, []).append(
                (timestamp, reader.deserialize(raw, connection.msgtype))
            )
    return messages


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


@pytest.fixture(scope="module")
def bag(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("bags") / "episodes"
    summary = collect(out, episodes=EPISODES, steps=STEPS, config=ReacherConfig(image_size=SIZE, seed=5))
    return out, summary


def test_topics_types_and_counts(bag):
    path, summary = bag
    frames = EPISODES * (STEPS + 1)
    assert summary.frames == frames and summary.messages == 3 * frames + EPISODES * STEPS
    with AnyReader([path]) as reader:
        counts = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
    assert counts == {
        CLOCK_TOPIC: ("rosgraph_msgs/msg/Clock", frames),
        IMAGE_TOPIC: ("sensor_msgs/msg/Image", frames),
        JOINT_STATES_TOPIC: ("sensor_msgs/msg/JointState", frames),
        COMMAND_TOPIC: ("std_msgs/msg/Float64MultiArray", EPISODES * STEPS),
    }


def test_images_are_unpadded_rgb8_stamped_with_their_bag_time(bag):
    messages = read_bag(bag[0])
    for timestamp, image in messages[IMAGE_TOPIC]:
        assert (image.encoding, image.height, image.width, image.step) == ("rgb8", SIZE, SIZE, SIZE * 3)
        assert image.is_bigendian == 0 and image.header.frame_id == "camera"
        assert len(image.data) == SIZE * SIZE * 3
        assert stamp_ns(image) == timestamp
    pixels = [np.asarray(image.data).reshape(SIZE, SIZE, 3) for _, image in messages[IMAGE_TOPIC]]
    assert not np.array_equal(pixels[0], pixels[1])  # the arm moves between frames


def test_joint_states_clock_and_frames_share_stamps(bag):
    messages = read_bag(bag[0])
    image_times = [t for t, _ in messages[IMAGE_TOPIC]]
    for (timestamp, joints), image_time in zip(messages[JOINT_STATES_TOPIC], image_times, strict=True):
        assert list(joints.name) == ["shoulder", "wrist"]
        assert len(joints.position) == 2 and len(joints.velocity) == 2
        assert timestamp == stamp_ns(joints) == image_time
    clock_times = [t for t, _ in messages[CLOCK_TOPIC]]
    assert clock_times == image_times
    assert [c.clock.sec * 1_000_000_000 + c.clock.nanosec for _, c in messages[CLOCK_TOPIC]] == clock_times


def test_commands_follow_their_frame_by_1ms_and_move_the_arm(bag):
    messages = read_bag(bag[0])
    frame_times = [t for t, _ in messages[IMAGE_TOPIC]]
    positions = [np.asarray(j.position) for _, j in messages[JOINT_STATES_TOPIC]]
    per_episode = STEPS + 1
    for index, (timestamp, command) in enumerate(messages[COMMAND_TOPIC]):
        frame = (index // STEPS) * per_episode + index % STEPS
        assert timestamp == frame_times[frame] + COMMAND_DELAY_NS
        velocities = np.asarray(command.data)
        assert velocities.shape == (2,) and np.all(np.abs(velocities) <= 3.0)
        # Commands are joint velocities in rad/s: the next frame shows them applied for 0.1 s.
        moved = positions[frame + 1] - positions[frame]
        moved[0] = (moved[0] + np.pi) % (2 * np.pi) - np.pi  # the shoulder is wrapped
        np.testing.assert_allclose(moved, velocities * 0.1, atol=0.02)


def test_episodes_are_separated_by_a_gap_and_time_never_goes_back(bag):
    messages = read_bag(bag[0])
    frame_times = np.array([t for t, _ in messages[IMAGE_TOPIC]])
    steps = np.diff(frame_times)
    gap_ns = round(EPISODE_GAP_S * 1e9)
    assert np.all(steps > 0)
    assert sorted(set(steps.tolist())) == [PERIOD_NS, gap_ns]
    assert np.flatnonzero(steps == gap_ns).tolist() == [STEPS]  # after the first episode's last frame
    # No message of any topic falls inside the gap.
    all_times = sorted(t for topic in messages.values() for t, _ in topic)
    assert max(np.diff(all_times)) == gap_ns


def test_mcap_storage_and_same_seed_same_bag(tmp_path, bag):
    out = tmp_path / "again"
    config = ReacherConfig(image_size=SIZE, seed=5)
    collect(out, episodes=EPISODES, steps=STEPS, config=config, storage="mcap")
    assert (out / "again.mcap").is_file()
    first, second = read_bag(bag[0]), read_bag(out)
    for topic in (IMAGE_TOPIC, COMMAND_TOPIC):
        for (t1, m1), (t2, m2) in zip(first[topic], second[topic], strict=True):
            assert t1 == t2
            np.testing.assert_array_equal(np.asarray(m1.data), np.asarray(m2.data))


def test_existing_out_is_refused_unless_forced(tmp_path):
    out = tmp_path / "bag"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="already exists"):
        collect(out, episodes=1, steps=1, config=ReacherConfig(image_size=SIZE))
    assert (out / "keep.txt").read_text() == "mine"
    collect(out, episodes=1, steps=1, config=ReacherConfig(image_size=SIZE), force=True)
    assert not (out / "keep.txt").exists() and (out / "metadata.yaml").is_file()


def test_an_interrupted_collection_leaves_nothing_behind(tmp_path):
    def interrupt():
        raise KeyboardInterrupt

    config = ReacherConfig(image_size=SIZE)
    with pytest.raises(KeyboardInterrupt):
        collect(tmp_path / "bag", episodes=2, steps=3, config=config, on_step=interrupt)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, match",
    [({"episodes": 0}, "`episodes`"), ({"steps": 0}, "`steps`"), ({"storage": "bag1"}, "`storage`")],
)
def test_bad_arguments_are_refused(tmp_path, kwargs, match):
    arguments = {"episodes": 1, "steps": 1, **kwargs}
    with pytest.raises(ValueError, match=match):
        collect(tmp_path / "bag", config=ReacherConfig(image_size=SIZE), **arguments)
    assert not (tmp_path / "bag").exists()


def test_a_dataset_of_the_collected_bag_records_velocity_actions_at_the_control_period(tmp_path, bag):
    # Float64MultiArray commands do not say what they are: the joints' motion tells velocities apart.
    from ros2_vid2world.bags.bag_episodes import EpisodeOptions
    from ros2_vid2world.bags.dataset_from_bags import dataset_from_bags
    from ros2_vid2world.dataset import EpisodeDataset

    options = EpisodeOptions(
        image_topic=IMAGE_TOPIC, joint_topic=JOINT_STATES_TOPIC, action_topic=COMMAND_TOPIC
    )
    summary = dataset_from_bags([bag[0]], tmp_path / "data", options)
    assert summary["action_space"] == "joint_velocity", summary["action_space_source"]
    data = EpisodeDataset(tmp_path / "data")
    assert data.action_space == "joint_velocity" and data.control_period == pytest.approx(0.1)
