"""`object_pose_topic`: PoseStamped messages in a real rosbag2 become the dataset's per-frame [x, y, yaw],
paired with the frames by their stamps; a missing or wrong topic is refused before anything is written."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from ros2_vid2world.bags.bag_episodes import EpisodeOptions
from ros2_vid2world.bags.dataset_from_bags import dataset_from_bags
from ros2_vid2world.bags.topic_values import planar_pose
from ros2_vid2world.dataset import EpisodeDataset

from .sim_bags import ACTION_TOPIC, IMAGE_TOPIC, JOINT_TOPIC, MS, T, header, write_sim_bag

POSE_TOPIC, POSE_TYPE = "/object_pose", "geometry_msgs/msg/PoseStamped"
EPISODES, FRAMES, RATE = 2, 6, 10.0


def pose_values(stamp_ns: int) -> np.ndarray:
    """The object's [x, y, yaw] at a time: yaw runs across the +-pi seam."""
    t = stamp_ns / 1e9
    return np.array([0.1 * np.sin(t), -0.05 * t, (3.0 + 0.4 * t + np.pi) % (2 * np.pi) - np.pi])


def pose_msg(stamp_ns: int, tilt=(0.0, 0.0), scale: float = 1.0):
    """A PoseStamped with that yaw, tilted by (roll, pitch) and its quaternion scaled (unnormalised)."""
    x, y, yaw = pose_values(stamp_ns)
    qx, qy, qz, qw = scale * Rotation.from_euler("ZYX", [yaw, tilt[1], tilt[0]]).as_quat()
    return T["geometry_msgs/msg/PoseStamped"](
        header=header(stamp_ns, "world"),
        pose=T["geometry_msgs/msg/Pose"](
            position=T["geometry_msgs/msg/Point"](x=x, y=y, z=0.01),
            orientation=T["geometry_msgs/msg/Quaternion"](x=qx, y=qy, z=qz, w=qw),
        ),
    )


def frame_stamps(start_s: float = 10.0) -> list[int]:
    """The frame stamps write_sim_bag uses (episodes 1 s apart)."""
    period, stamps, t = round(1e9 / RATE), [], int(start_s * 1e9)
    for _ in range(EPISODES):
        for _ in range(FRAMES):
            stamps.append(t)
            t += period
        t += int(1e9)
    return stamps


def test_poses_two_ms_after_their_frames_are_kept_per_frame_as_x_y_yaw(tmp_path):
    # Recorded 2 ms after each frame, some tilted or with unnormalised quaternions (still the same yaw).
    extra = [
        (POSE_TOPIC, POSE_TYPE, ns + 2 * MS, pose_msg(ns + 2 * MS, (0.1 * i, -0.05), 1 + i % 3))
        for i, ns in enumerate(frame_stamps())
    ]
    write_sim_bag(tmp_path / "bag", episodes=EPISODES, frames=FRAMES, rate=RATE, extra=extra)
    options = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, object_pose_topic=POSE_TOPIC)
    summary = dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", options)
    data = EpisodeDataset(tmp_path / "ds")
    assert summary["object_pose_topic"] == data.manifest["object_poses"]["source"] == POSE_TOPIC
    expected = np.stack([pose_values(ns + 2 * MS) for ns in frame_stamps()])
    np.testing.assert_allclose(data.object_poses, expected, atol=1e-6)
    assert len(data.episodes) == EPISODES and data.manifest["sources"][0]["unpaired_frames"] == 0


def test_frames_without_a_pose_within_the_tolerance_are_dropped(tmp_path):
    stamps = frame_stamps()
    extra = [
        (POSE_TOPIC, POSE_TYPE, ns, pose_msg(ns))
        for ns in stamps[FRAMES:]  # the second episode only
    ]
    write_sim_bag(tmp_path / "bag", episodes=EPISODES, frames=FRAMES, rate=RATE, extra=extra)
    options = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, object_pose_topic=POSE_TOPIC)
    dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", options)
    data = EpisodeDataset(tmp_path / "ds")
    assert len(data.episodes) == 1 and data.manifest["sources"][0]["unpaired_frames"] == FRAMES
    np.testing.assert_array_equal(data.stamps, stamps[FRAMES:])


@pytest.mark.parametrize(
    "topic, match",
    [
        (POSE_TOPIC, "object pose topic '/object_pose' is not in the bag"),
        ("/clock", "object pose topic '/clock' carries rosgraph_msgs/msg/Clock; supported: " + POSE_TYPE),
        (JOINT_TOPIC, "must be different topics"),
    ],
)
def test_a_missing_or_wrong_object_pose_topic_is_refused_and_nothing_is_written(tmp_path, topic, match):
    write_sim_bag(tmp_path / "bag", episodes=1, frames=4)
    options = EpisodeOptions(IMAGE_TOPIC, JOINT_TOPIC, ACTION_TOPIC, object_pose_topic=topic)
    with pytest.raises(ValueError, match=match):
        dataset_from_bags([tmp_path / "bag"], tmp_path / "ds", options)
    assert [p.name for p in tmp_path.iterdir()] == ["bag"]


def test_yaw_of_a_pose_is_its_turn_about_z():
    for yaw in (-3.1, -1.0, 0.0, 0.5, 3.1):
        for tilt in ((0.0, 0.0), (0.3, -0.2)):
            msg = pose_msg(0, tilt)
            q = Rotation.from_euler("ZYX", [yaw, tilt[1], tilt[0]]).as_quat()
            msg.pose.orientation = T["geometry_msgs/msg/Quaternion"](x=q[0], y=q[1], z=q[2], w=q[3])
            assert planar_pose(msg)[2] == pytest.approx(yaw, abs=1e-9)
