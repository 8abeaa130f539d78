"""Bags shaped like the simulator's, written with `rosbags`, with the truth kept for checking.

Camera `/camera/image_raw` (Image, header stamp = sim time) at `rate`; `/joint_states` at twice that
rate, 3 ms after each frame and half a period later; the action on
`/forward_command_controller/commands` (Float64MultiArray, no header) 1 ms after the frame it follows;
`/clock`; episodes separated by `gap_s` without messages. Frame pixels, joints and actions are
functions of (episode, frame), so a dataset can be checked frame by frame.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

TYPESTORE = get_typestore(Stores.LATEST)
T = TYPESTORE.types
IMAGE_TOPIC = "/camera/image_raw"
JOINT_TOPIC = "/joint_states"
ACTION_TOPIC = "/forward_command_controller/commands"
TRAJECTORY_TOPIC = "/joint_trajectory_controller/joint_trajectory"
JOINT_NAMES = ["shoulder", "elbow"]
MS = 1_000_000


@dataclass
class SimTruth:
    """What was written: per episode, frames [T, H, W, 3], stamps [T] ns, joints [T, J], actions [T, A]."""

    frames: list[np.ndarray] = field(default_factory=list)
    stamps: list[np.ndarray] = field(default_factory=list)
    joints: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)


def frame_pixels(episode: int, index: int, size=(12, 16)) -> np.ndarray:
    return np.random.default_rng(1000 * episode + index).integers(0, 256, (*size, 3), dtype=np.uint8)


def joint_values(stamp_ns: int) -> np.ndarray:
    t = stamp_ns / 1e9
    return np.array([np.sin(t), np.cos(0.5 * t)])


def action_values(episode: int, index: int) -> np.ndarray:
    return np.array([0.1 * index + episode, -0.05 * index])


def stamp(ns: int):
    return T["builtin_interfaces/msg/Time"](sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def header(ns: int, frame_id: str = "camera"):
    return T["std_msgs/msg/Header"](stamp=stamp(ns), frame_id=frame_id)


def image_msg(pixels: np.ndarray, ns: int, encoding: str = "rgb8", padding: int = 0):
    if encoding == "bgr8":
        pixels = pixels[..., ::-1]
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(height, -1)
    data = np.concatenate([rows, np.full((height, padding), 0xAB, np.uint8)], axis=1)
    return T["sensor_msgs/msg/Image"](
        header=header(ns),
        height=height,
        width=width,
        encoding=encoding,
        is_bigendian=0,
        step=data.shape[1],
        data=data.reshape(-1),
    )


def compressed_msg(pixels: np.ndarray, ns: int):
    buffer = io.BytesIO()
    PILImage.fromarray(pixels).save(buffer, format="png")
    return T["sensor_msgs/msg/CompressedImage"](
        header=header(ns), format="png", data=np.frombuffer(buffer.getvalue(), np.uint8)
    )


def joint_msg(ns: int, names=JOINT_NAMES):
    positions = joint_values(ns)
    order = [JOINT_NAMES.index(n) for n in names]
    return T["sensor_msgs/msg/JointState"](
        header=header(ns, ""),
        name=list(names),
        position=positions[order],
        velocity=np.zeros(0),
        effort=np.zeros(0),
    )


def float_array_msg(values: np.ndarray):
    layout = T["std_msgs/msg/MultiArrayLayout"](dim=[], data_offset=0)
    return T["std_msgs/msg/Float64MultiArray"](layout=layout, data=np.asarray(values, np.float64))


def trajectory_msg(values: np.ndarray):
    duration = T["builtin_interfaces/msg/Duration"](sec=0, nanosec=100 * MS)
    point = T["trajectory_msgs/msg/JointTrajectoryPoint"](
        positions=np.asarray(values, np.float64),
        velocities=np.zeros(0),
        accelerations=np.zeros(0),
        effort=np.zeros(0),
        time_from_start=duration,
    )
    return T["trajectory_msgs/msg/JointTrajectory"](
        header=header(0, ""), joint_names=JOINT_NAMES, points=[point]
    )


def clock_msg(ns: int):
    return T["rosgraph_msgs/msg/Clock"](clock=stamp(ns))


def write_sim_bag(
    path: Path,
    storage: str = "sqlite3",
    episodes: int = 2,
    frames: int = 8,
    rate: float = 10.0,
    size=(12, 16),
    gap_s: float = 1.0,
    start_s: float = 10.0,
    encoding: str = "rgb8",
    padding: int = 0,
    compressed: bool = False,
    actions: str | None = "float_array",
    shuffle_writes: bool = False,
    joint_names=JOINT_NAMES,
    extra: list | None = None,
    scene=None,
    last_frame_action: bool = True,
    write=None,
) -> SimTruth:
    """Write the bag; `extra` is a list of (topic, msgtype, bag time ns, msg) written as well; `scene`
    (episode, index, size) -> uint8 [H, W, 3] replaces the random frames; without `last_frame_action`
    an episode's last frame gets no action (as the simulator records: it shows the last outcome);
    `write(path, records, storage)` writes the records (default: `write_records`)."""
    truth = SimTruth()
    period = int(round(1e9 / rate))
    records = []  # (topic, msgtype, bag time, message)
    t = int(start_s * 1e9)
    for episode in range(episodes):
        ep_frames, ep_stamps, ep_joints, ep_actions = [], [], [], []
        for index in range(frames):
            pixels = (scene or frame_pixels)(episode, index, size)
            image = compressed_msg(pixels, t) if compressed else image_msg(pixels, t, encoding, padding)
            image_type = "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
            records.append((IMAGE_TOPIC, image_type, t, image))
            records.append(("/clock", "rosgraph_msgs/msg/Clock", t, clock_msg(t)))
            for offset in (3 * MS, 3 * MS + period // 2):
                records.append(
                    (
                        JOINT_TOPIC,
                        "sensor_msgs/msg/JointState",
                        t + offset,
                        joint_msg(t + offset, joint_names),
                    )
                )
            action = action_values(episode, index)
            if index == frames - 1 and not last_frame_action:
                action = np.zeros_like(action)  # what the dataset keeps for it
            elif actions == "float_array":
                records.append(
                    (ACTION_TOPIC, "std_msgs/msg/Float64MultiArray", t + MS, float_array_msg(action))
                )
            elif actions == "trajectory":
                records.append(
                    (TRAJECTORY_TOPIC, "trajectory_msgs/msg/JointTrajectory", t + MS, trajectory_msg(action))
                )
            ep_frames.append(pixels)
            ep_stamps.append(t)
            ep_joints.append(joint_values(t + 3 * MS))
            ep_actions.append(action)
            t += period
        truth.frames.append(np.stack(ep_frames))
        truth.stamps.append(np.array(ep_stamps, np.int64))
        truth.joints.append(np.stack(ep_joints))
        truth.actions.append(np.stack(ep_actions))
        t += int(gap_s * 1e9)
    records.extend(extra or [])
    if shuffle_writes:
        order = np.random.default_rng(0).permutation(len(records))
        records = [records[i] for i in order]
    (write or write_records)(path, records, storage)
    return truth


def write_records(
    path: Path, records: list, storage: str = "sqlite3", version: int = 9, definitions: dict | None = None
) -> None:
    """Write (topic, msgtype, bag time ns, message) records into a new bag. A message may be bytes
    (written as they are). `definitions`: msgtype -> the definition text to store instead of the real
    one ("" stores none, as a recorder that could not find it)."""
    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    definitions = definitions or {}
    with Writer(path, version=version, storage_plugin=plugin) as writer:
        connections = {}
        for topic, msgtype, _, _ in records:
            if topic not in connections:
                if msgtype in definitions:
                    connections[topic] = writer.add_connection(
                        topic, msgtype, msgdef=definitions[msgtype], rihs01="RIHS01_" + "0" * 64
                    )
                else:
                    connections[topic] = writer.add_connection(topic, msgtype, typestore=TYPESTORE)
        for topic, msgtype, ns, msg in records:
            raw = msg if isinstance(msg, bytes) else TYPESTORE.serialize_cdr(msg, msgtype)
            writer.write(connections[topic], ns, raw)
