"""Recorded bags -> episodes of frames, joints and actions (and object poses) at a fixed rate, in two passes
per bag.

Pass 1 (`recorded_streams`) reads stamps, joint states, actions (and object poses) of every bag, and
`episode_plan` decides which camera frames become episode frames, so every bag is checked before anything
is made. Pass 2 (`decode_episodes`) decodes only those frames, resizes them and hands each finished episode to
a sink: the DatasetWriter for `vid2world dataset`, a list in memory for `vid2world eval-bag`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from tqdm import tqdm

from ..image_messages import resize_rgb
from ..world_model.action_space import check_action_space
from .action_space_inference import infer_action_space
from .bag_reading import BagFile
from .episode_plan import BagPlan, plan_episodes
from .frame_pairing import NS, median_period_ns
from .message_types import MessageTypes
from .recorded_streams import RecordedStreams, read_streams
from .topic_values import TRAJECTORY_FIELDS, decode_frame


@dataclass(frozen=True)
class EpisodeOptions:
    """How bags become episodes. None means "from the recording" (see the field notes)."""

    image_topic: str
    joint_topic: str | None = None
    action_topic: str | None = None  # None: actions are joint-position differences
    fps: float | None = None  # None: the camera's median rate
    size: tuple[int, int] | None = None  # (H, W); None: the camera's size
    tolerance_s: float | None = None  # pairing window; None: half a camera period
    max_gap_s: float | None = None  # longest pause inside an episode; None: 5 camera periods
    trajectory_field: str = "positions"  # which JointTrajectory point field is the action
    action_space: str | None = None  # None: from the message type, or the joints' motion
    message_types: MessageTypes = MessageTypes()  # definitions for bags that store none
    object_pose_topic: str | None = None  # PoseStamped of an object, kept per frame as [x, y, yaw]

    def __post_init__(self):
        if not self.image_topic:
            raise ValueError("`image_topic` must be a topic name. Got an empty string.")
        if self.object_pose_topic == "":
            raise ValueError("`object_pose_topic` must be a topic name or None. Got an empty string.")
        if not self.joint_topic and not self.action_topic:
            raise ValueError(
                "give --action-topic, or --joint-topic to derive actions from joint-position differences."
            )
        for name in ("fps", "tolerance_s", "max_gap_s"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"`{name}` must be > 0. Got {value}.")
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"`size` must be (height, width) >= 1. Got {self.size}.")
        if self.action_space is not None:
            check_action_space(self.action_space, "--action-space")
        if self.trajectory_field not in TRAJECTORY_FIELDS:
            raise ValueError(
                f"`trajectory_field` must be one of {list(TRAJECTORY_FIELDS)}. Got {self.trajectory_field!r}."
            )


class EpisodeSink(Protocol):
    """Takes each decoded episode; `object_poses=` comes as well only when an object pose topic is read."""

    def add_episode(self, frames, actions, joints=None, stamps=None, source: str = "", **extra) -> None: ...


@dataclass
class PlannedBags:
    """Pass 1 over every bag: what was found and which frames each episode takes."""

    options: EpisodeOptions
    streams: list[RecordedStreams]
    plans: list[BagPlan]
    fps: float
    tolerance_ns: int
    max_gap_ns: int
    joint_names: list[str]

    @property
    def episodes(self) -> int:
        return sum(len(plan.episodes) for plan in self.plans)

    @property
    def frames(self) -> int:
        return int(sum(len(e.image_indices) for plan in self.plans for e in plan.episodes))

    @property
    def action_dim(self) -> int:
        return int(next(e for plan in self.plans for e in plan.episodes).actions.shape[1])

    @property
    def action_source(self) -> str:
        """Where the actions came from, in words."""
        options = self.options
        if not options.action_topic:
            return f"joint-position differences of {options.joint_topic}"
        msgtype = self.streams[0].actions.msgtype
        detail = f", first point {options.trajectory_field}" if msgtype.endswith("JointTrajectory") else ""
        return f"{options.action_topic} ({msgtype}{detail})"

    @property
    def control_period(self) -> float:
        """Seconds per episode frame (and so per model step)."""
        return 1.0 / self.fps

    def action_space(self) -> tuple[str | None, str]:
        """(what the actions mean, or None when the recording cannot tell; how that was decided)."""
        options = self.options
        if options.action_space is not None:
            return options.action_space, "--action-space"
        if not options.action_topic:
            return "joint_delta", "actions are joint-position differences"
        if self.streams[0].actions.msgtype.endswith("JointTrajectory"):
            field = options.trajectory_field
            kind = "joint_velocity" if field == "velocities" else "joint_position"
            return kind, f"JointTrajectory {field}"
        episodes = [e for plan in self.plans for e in plan.episodes] if options.joint_topic else []
        return infer_action_space(
            [e.joints for e in episodes], [e.actions for e in episodes], self.control_period
        )

    def sources(self) -> list[dict]:
        return [
            plan.summary(found.storage, found.definitions)
            for found, plan in zip(self.streams, self.plans, strict=True)
        ]

    def pairing(self) -> dict:
        return {
            "tolerance_s": self.tolerance_ns / NS,
            "max_gap_s": self.max_gap_ns / NS,
            "resampling": "nearest frame per tick",
            "camera_delay_s": [s.camera_delay_ns / NS for s in self.streams],
        }


def plan_bags(bags: list[str | os.PathLike], options: EpisodeOptions, progress: bool = False) -> PlannedBags:
    """Pass 1 over every bag. Raises ValueError for unreadable bags, missing topics, clock resets, or
    when no episode of at least 2 frames remains."""
    if not bags:
        raise ValueError("give at least one bag.")
    streams: list[RecordedStreams] = []
    joint_names = None
    for path in bags:
        with BagFile(path, options.message_types) as bag:
            found = read_streams(
                bag,
                options.image_topic,
                options.joint_topic,
                options.action_topic,
                joint_names=joint_names,
                trajectory_field=options.trajectory_field,
                progress=progress,
                object_pose_topic=options.object_pose_topic,
            )
        joint_names = found.joint_names if options.joint_topic else []
        streams.append(found)

    period_ns = int(np.median([median_period_ns(np.sort(s.camera.stamps_ns)) for s in streams]))
    fps = options.fps or round(NS / period_ns, 3)
    tolerance_ns = int(options.tolerance_s * NS) if options.tolerance_s else period_ns // 2
    max_gap_ns = int(options.max_gap_s * NS) if options.max_gap_s else 5 * period_ns
    plans = [
        plan_episodes(s, fps, period_ns, tolerance_ns, max_gap_ns, len(joint_names or [])) for s in streams
    ]
    if not any(plan.episodes for plan in plans):
        unpaired = sum(plan.unpaired_frames for plan in plans)
        raise ValueError(
            f"no episode of at least 2 frames: {unpaired} camera frames had no joint state or action "
            f"within {tolerance_ns / NS:.3f} s (raise --tolerance?)."
        )
    return PlannedBags(options, streams, plans, fps, tolerance_ns, max_gap_ns, joint_names or [])


def decode_episodes(planned: PlannedBags, sink: EpisodeSink, progress: bool = False) -> tuple[int, int]:
    """Pass 2: decode the planned frames of every bag and hand each episode to `sink`; returns (H, W)."""
    size = planned.options.size
    for found, plan in zip(planned.streams, planned.plans, strict=True):
        with BagFile(found.path, planned.options.message_types) as bag:
            size = _decode_bag(bag, found, plan, sink, size, planned.options.size is not None, progress)
    return size


def _decode_bag(
    bag: BagFile,
    found: RecordedStreams,
    plan: BagPlan,
    sink: EpisodeSink,
    size: tuple[int, int] | None,
    resize: bool,
    progress: bool,
) -> tuple[int, int]:
    # A camera message may feed several episode frames (resampling up), in any episode order.
    wanted: dict[int, list[tuple[int, int]]] = {}
    for number, episode in enumerate(plan.episodes):
        for position, index in enumerate(episode.image_indices.tolist()):
            wanted.setdefault(index, []).append((number, position))
    buffers: dict[int, np.ndarray] = {}
    remaining = {number: len(e.image_indices) for number, e in enumerate(plan.episodes)}
    connections = bag.connections(found.camera.topic, (found.camera.msgtype,), "camera")
    records = tqdm(
        bag.messages(connections),
        total=bag.message_count(connections),
        desc=f"{bag.path.name}: frames",
        unit="frame",
        disable=not progress,
        leave=False,
    )
    for index, (connection, receive_ns, raw) in enumerate(records):
        if not any(remaining.values()):
            break
        if index not in wanted:
            continue
        msg = bag.deserialize(raw, connection.msgtype, receive_ns)
        try:
            frame = decode_frame(msg, connection.msgtype)
        except ValueError as exc:
            raise ValueError(
                f"bag {str(bag.path)!r}: {found.camera.topic} frame at bag time "
                f"{receive_ns / 1e9:.3f} s: {exc}"
            ) from None
        if size is None:
            size = frame.shape[:2]
        elif not resize and frame.shape[:2] != tuple(size):
            raise ValueError(
                f"bag {str(bag.path)!r}: {found.camera.topic} frames change size from {list(size)} to "
                f"{list(frame.shape[:2])} at bag time {receive_ns / 1e9:.3f} s; pass --size HxW."
            )
        frame = resize_rgb(frame, size)
        for number, position in wanted[index]:
            if number not in buffers:
                buffers[number] = np.empty((remaining[number], *size, 3), np.uint8)
            buffers[number][position] = frame
            remaining[number] -= 1
            if remaining[number] == 0:
                episode = plan.episodes[number]
                poses = {} if episode.object_poses is None else {"object_poses": episode.object_poses}
                frames = buffers.pop(number)
                sink.add_episode(
                    frames, episode.actions, episode.joints, episode.stamps_ns, source=found.path, **poses
                )
    if any(remaining.values()):
        raise ValueError(f"bag {str(bag.path)!r} changed while it was being read.")
    return tuple(size)
