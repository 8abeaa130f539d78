"""`collect --task push`: a real rosbag2 with the block's pose, whose dataset keeps object poses that match
the simulation frame by frame; how often the exploration moves the block; bad input as one line."""

import json
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from ros2_vid2world.bags.bag_episodes import EpisodeOptions
from ros2_vid2world.bags.dataset_from_bags import dataset_from_bags
from ros2_vid2world.cli import main
from ros2_vid2world.dataset import EpisodeDataset
from ros2_vid2world.sim.collect import collect
from ros2_vid2world.sim.push_env import PushConfig, PushEnv
from ros2_vid2world.sim.push_exploration import PushExplorationPolicy, block_moved
from ros2_vid2world.sim.reacher_config import ReacherConfig
from ros2_vid2world.sim.topics import (
    COMMAND_TOPIC,
    IMAGE_TOPIC,
    JOINT_STATES_TOPIC,
    OBJECT_POSE_TOPIC,
    WORLD_FRAME,
)

EPISODES, STEPS, SIZE = 6, 50, 16
# The share of steps in which exploration moves the block (`block_moved`: > 2 mm or > 1 degree): 0.44
# over 100 episodes x 50 steps, against 0.027 for uniformly random commands from the same starts. Eight
# recordings the size of this one (seeds 5-12) gave 0.39-0.50 (mean 0.46, standard deviation 0.04):
# 0.30 is four deviations below, and still ten times the random commands' share.
MIN_MOVING_SHARE = 0.30


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def read_bag(path: Path) -> dict[str, list]:
    """topic -> [(bag time ns, message)] in bag order."""
    messages: dict[str, list] = {}
    with AnyReader([path]) as reader:
        for connection, timestamp, raw in reader.messages():
            messages.setdefault(connection.topic, []).append(
                (timestamp, reader.deserialize(raw, connection.msgtype))
            )
    return messages


@pytest.fixture(scope="module")
def bag(tmp_path_factory):
    out = tmp_path_factory.mktemp("push") / "bag"
    # As `vid2world collect --task push` and a recipe give it: a ReacherConfig whose task is push.
    config = ReacherConfig(task="push", image_size=SIZE, seed=5)
    summary = collect(out, episodes=EPISODES, steps=STEPS, config=config)
    return out, summary


@pytest.fixture(scope="module")
def dataset(bag, tmp_path_factory):
    out = tmp_path_factory.mktemp("push") / "data"
    options = EpisodeOptions(
        image_topic=IMAGE_TOPIC,
        joint_topic=JOINT_STATES_TOPIC,
        action_topic=COMMAND_TOPIC,
        object_pose_topic=OBJECT_POSE_TOPIC,
    )
    summary = dataset_from_bags([bag[0]], out, options)
    return EpisodeDataset(out), summary


def test_the_bag_holds_the_object_pose_stamped_with_its_frame(bag):
    path, summary = bag
    assert summary.task == "push"
    frames = EPISODES * (STEPS + 1)
    with AnyReader([path]) as reader:
        counts = {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
    assert counts[OBJECT_POSE_TOPIC] == ("geometry_msgs/msg/PoseStamped", frames)
    assert counts[IMAGE_TOPIC][1] == counts[JOINT_STATES_TOPIC][1] == frames
    messages = read_bag(path)
    for (pose_time, pose), (image_time, image), (_, joints) in zip(
        messages[OBJECT_POSE_TOPIC], messages[IMAGE_TOPIC], messages[JOINT_STATES_TOPIC], strict=True
    ):
        assert pose_time == stamp_ns(pose) == image_time == stamp_ns(image)
        assert pose.header.frame_id == WORLD_FRAME and pose.pose.position.z == 0.0
        q = pose.pose.orientation
        assert q.x == q.y == 0.0 and q.z**2 + q.w**2 == pytest.approx(1.0)
        assert list(joints.name) == ["pusher_x", "pusher_y"]
    velocities = np.array([m.data for _, m in messages[COMMAND_TOPIC]])
    assert velocities.shape == (EPISODES * STEPS, 2) and np.abs(velocities).max() <= 0.3 + 1e-12  # m/s


def test_the_dataset_keeps_object_poses_that_match_the_simulation_frame_by_frame(dataset):
    data, summary = dataset
    assert summary["object_pose_topic"] == OBJECT_POSE_TOPIC and summary["episodes"] == EPISODES
    assert data.manifest["object_poses"] == {"source": OBJECT_POSE_TOPIC, "fields": ["x", "y", "yaw"],
                                             "units": ["m", "m", "rad"]}
    assert data.manifest["topics"]["object_pose"] == OBJECT_POSE_TOPIC
    assert data.object_poses.shape == (EPISODES * (STEPS + 1), 3) and data.object_poses.dtype == np.float32
    assert data.action_space == "joint_velocity" and data.manifest["joint_names"] == ["pusher_x", "pusher_y"]
    # Run the collection again by hand: the same seeds give the same simulation, which the dataset
    # shows frame by frame. (Replaying the dataset's float32 actions instead would drift: contacts and
    # stick-slip friction amplify a 1e-8 difference to millimetres within tens of steps.)
    env = PushEnv(PushConfig(image_size=SIZE, seed=5))
    policy = PushExplorationPolicy(np.random.default_rng([5, 1]), step_length=0.3 * 0.1)
    try:
        for number in range(EPISODES):
            episode = data.episode(number)
            obs = env.reset()
            policy.reset()
            for t in range(STEPS + 1):
                np.testing.assert_array_equal(episode["frames"][t], obs.image)
                np.testing.assert_array_equal(episode["object_poses"][t], obs.object_pose.astype(np.float32))
                np.testing.assert_array_equal(episode["joints"][t], obs.joint_positions.astype(np.float32))
                if t < STEPS:
                    action = policy(obs.joint_positions, obs.object_pose)
                    np.testing.assert_array_equal(episode["actions"][t], (action * 0.3).astype(np.float32))
                    obs = env.step(action)
    finally:
        env.close()


def test_the_exploration_moves_the_block_often(bag, dataset):
    summary, data = bag[1], dataset[0]
    moved = [
        block_moved(poses[t], poses[t + 1])
        for number in range(EPISODES)
        for poses in [data.episode(number)["object_poses"].astype(np.float64)]
        for t in range(STEPS)
    ]
    # What the summary reports is what the recorded poses show (float32 rounding aside).
    assert summary.object_moving_share == pytest.approx(np.mean(moved), abs=2 / len(moved))
    assert summary.object_moving_share >= MIN_MOVING_SHARE
    # Uniformly random commands from the same starts move it far less often.
    env = PushEnv(PushConfig(image_size=SIZE, seed=5))
    rng = np.random.default_rng(0)
    random_moved = []
    try:
        for _ in range(EPISODES):
            obs = env.reset()
            for _ in range(STEPS):
                before = obs.object_pose
                env.advance(rng.uniform(-1, 1, size=2))
                obs = env.observe(render=False)
                random_moved.append(block_moved(before, obs.object_pose))
    finally:
        env.close()
    assert summary.object_moving_share > np.mean(random_moved) + 0.15


def test_cli_collect_task_push_reports_how_often_the_block_moved(tmp_path, capsys):
    out = tmp_path / "bag"
    argv = ["collect", "--task", "push", "--episodes", "1", "--steps", "5", "--size", "16", "--out", str(out)]
    assert main([*argv, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["task"] == "push" and 0.0 <= summary["object_moving_share"] <= 1.0
    assert main([*argv, "--force"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith("  the block moved in ") and printed[-1].endswith("% of the steps")


def test_cli_unknown_task_is_one_error_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "bag"
    assert main(["collect", "--task", "pull", "--episodes", "1", "--steps", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["vid2world collect: error: `task` must be one of ['easy', 'hard', 'push']. Got 'pull'."]
    assert list(tmp_path.iterdir()) == []


def test_cli_dataset_object_pose_topic_missing_from_the_bags_is_one_error_line(tmp_path, capsys):
    """A reacher bag has no object pose: refused before anything is written."""
    bag = tmp_path / "reacher"
    collect(bag, episodes=1, steps=2, config=ReacherConfig(image_size=SIZE))
    capsys.readouterr()
    out = tmp_path / "data"
    argv = ["dataset", str(bag), "--out", str(out), "--image-topic", IMAGE_TOPIC, "--joint-topic",
            JOINT_STATES_TOPIC, "--action-topic", COMMAND_TOPIC, "--object-pose-topic", OBJECT_POSE_TOPIC]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(
        f"vid2world dataset: error: bag {str(bag)!r}: object pose topic '/object_pose' is not in the bag. "
        "Its topics: /camera/image_raw (sensor_msgs/msg/Image), "
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reacher"]  # no dataset, no staging folder
