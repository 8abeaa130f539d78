"""First pass over a bag: the stamps of every camera frame, and the joint states, actions and (optionally)
object poses with theirs.

Images are not decoded here (only their headers are read), so a long bag costs little memory; the
frames a dataset keeps are decoded in a second pass (`frame_writing`).

Clocks: camera frames, joint states and object poses are timed by their header stamps (when the image or
the measurement was taken). Actions are timed by when the bag received them: a Float64MultiArray has no
header, and a JointTrajectory's stamp says when to start, not when it was decided. Receive times are
moved onto the header clock by the camera's median delay (receive time - header stamp), which is 0 for
a simulator that writes sim time into both, and the camera's transport latency on a real robot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from tqdm import tqdm

from ..image_messages import ENCODINGS
from .bag_reading import BagFile
from .topic_values import (
    ACTION_TYPES,
    IMAGE_TYPES,
    JOINT_TYPES,
    POSE_TYPES,
    action_vector,
    header_stamp_ns,
    joint_positions,
    planar_pose,
)


@dataclass
class Stream:
    """One topic's messages: stamps on the camera's clock (in receive order) and values [N, D]."""

    topic: str
    msgtype: str
    stamps_ns: np.ndarray
    values: np.ndarray | None = None
    skipped: int = 0  # messages that carried no usable value (e.g. a joint missing from a JointState)


@dataclass
class RecordedStreams:
    """What the first pass found in one bag."""

    path: str
    storage: str
    camera: Stream  # values None; message i is the i-th camera message in read order
    joints: Stream | None
    actions: Stream | None
    joint_names: list[str] = field(default_factory=list)
    camera_delay_ns: int = 0
    definitions: str = "stored in the bag"  # or the release whose standard messages read it
    object_poses: Stream | None = None  # values [N, 3]: x, y, yaw


def read_streams(
    bag: BagFile,
    image_topic: str,
    joint_topic: str | None,
    action_topic: str | None,
    joint_names: list[str] | None = None,
    trajectory_field: str = "positions",
    progress: bool = False,
    object_pose_topic: str | None = None,
) -> RecordedStreams:
    """Read the stamps and values of the chosen topics of an open bag (one pass, images not decoded).

    `joint_names` fixes the joint order (from an earlier bag); by default the first JointState's order.
    Raises ValueError for missing topics, unsupported types or encodings, and inconsistent actions.
    """
    roles = {image_topic: ("camera", IMAGE_TYPES)}
    if joint_topic:
        roles[joint_topic] = ("joint", JOINT_TYPES)
    if action_topic:
        roles[action_topic] = ("action", ACTION_TYPES)
    if object_pose_topic:
        roles[object_pose_topic] = ("object pose", POSE_TYPES)
    if len(roles) < 1 + bool(joint_topic) + bool(action_topic) + bool(object_pose_topic):
        raise ValueError(
            "--image-topic, --joint-topic, --action-topic and --object-pose-topic must be different topics."
        )
    connections = {topic: bag.connections(topic, types, role) for topic, (role, types) in roles.items()}
    msgtypes = {topic: conns[0].msgtype for topic, conns in connections.items()}
    names = list(joint_names) if joint_names is not None else None
    receive: dict[str, list[int]] = {topic: [] for topic in roles}
    header: dict[str, list[int | None]] = {topic: [] for topic in roles}
    values: dict[str, list] = {topic: [] for topic in roles}
    all_connections = [c for conns in connections.values() for c in conns]
    records = tqdm(
        bag.messages(all_connections),
        total=bag.message_count(all_connections),
        desc=f"{bag.path.name}: reading",
        unit="msg",
        disable=not progress,
        leave=False,
    )
    for connection, receive_ns, raw in records:
        topic = connection.topic
        msg = bag.deserialize(raw, connection.msgtype, receive_ns)
        receive[topic].append(receive_ns)
        header[topic].append(header_stamp_ns(msg))
        role = roles[topic][0]
        if role == "camera":
            if len(receive[topic]) == 1:
                _check_encoding(bag, topic, msg, connection.msgtype)
        elif role == "joint":
            if names is None:
                names = [str(name) for name in msg.name]
                if not names:
                    raise ValueError(f"bag {str(bag.path)!r}: the first message on {topic} names no joints.")
            values[topic].append(joint_positions(msg, names))
        elif role == "object pose":
            values[topic].append(planar_pose(msg))
        else:
            try:
                values[topic].append(action_vector(msg, connection.msgtype, trajectory_field))
            except ValueError as exc:
                raise ValueError(
                    f"bag {str(bag.path)!r}: action on {topic} at bag time {receive_ns / 1e9:.3f} s: {exc}."
                ) from None

    camera_receive = np.asarray(receive[image_topic], dtype=np.int64)
    if len(camera_receive) < 2:
        raise ValueError(
            f"bag {str(bag.path)!r}: {image_topic} has {len(camera_receive)} message(s); need at least 2."
        )
    delay = _camera_delay_ns(camera_receive, header[image_topic])
    camera = Stream(
        image_topic, msgtypes[image_topic], _stamps(receive[image_topic], header[image_topic], delay)
    )
    joints = actions = object_poses = None
    if object_pose_topic:
        object_poses = _value_stream(
            bag, object_pose_topic, msgtypes[object_pose_topic], receive, header, values, delay, True
        )
    if joint_topic:
        joints = _value_stream(bag, joint_topic, msgtypes[joint_topic], receive, header, values, delay, True)
    if action_topic:
        actions = _value_stream(
            bag, action_topic, msgtypes[action_topic], receive, header, values, delay, False
        )
    return RecordedStreams(
        path=str(bag.path),
        storage=bag.storage,
        camera=camera,
        joints=joints,
        actions=actions,
        joint_names=names or [],
        camera_delay_ns=delay,
        definitions=bag.definitions,
        object_poses=object_poses,
    )


def _check_encoding(bag: BagFile, topic: str, msg, msgtype: str) -> None:
    if msgtype == "sensor_msgs/msg/Image" and msg.encoding not in ENCODINGS:
        raise ValueError(
            f"bag {str(bag.path)!r}: {topic} has image encoding {msg.encoding!r}; "
            f"supported: {', '.join(sorted(ENCODINGS))}."
        )


def _camera_delay_ns(receive_ns: np.ndarray, header_ns: list[int | None]) -> int:
    pairs = [(r, h) for r, h in zip(receive_ns.tolist(), header_ns, strict=True) if h is not None]
    if not pairs:
        return 0
    return int(np.median([r - h for r, h in pairs]))


def _stamps(receive_ns: list[int], header_ns: list[int | None] | None, delay_ns: int) -> np.ndarray:
    """Header stamps where set, else receive time moved onto the header clock."""
    if header_ns is None:
        header_ns = [None] * len(receive_ns)
    return np.asarray(
        [h if h is not None else r - delay_ns for r, h in zip(receive_ns, header_ns, strict=True)],
        dtype=np.int64,
    )


def _value_stream(bag, topic, msgtype, receive, header, values, delay, use_header) -> Stream:
    stamps = _stamps(receive[topic], header[topic] if use_header else None, delay)
    kept = [i for i, v in enumerate(values[topic]) if v is not None]
    if not kept:
        raise ValueError(f"bag {str(bag.path)!r}: no usable message on {topic}.")
    lengths = {len(values[topic][i]) for i in kept}
    if len(lengths) > 1:
        first = len(values[topic][kept[0]])
        bad = next(i for i in kept if len(values[topic][i]) != first)
        raise ValueError(
            f"bag {str(bag.path)!r}: messages on {topic} change length from {first} to "
            f"{len(values[topic][bad])} at bag time {receive[topic][bad] / 1e9:.3f} s."
        )
    array = np.stack([values[topic][i] for i in kept]).astype(np.float64)
    return Stream(topic, msgtype, stamps[kept], array, skipped=len(values[topic]) - len(kept))
