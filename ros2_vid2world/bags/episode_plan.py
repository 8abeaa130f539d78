"""Which camera frames become which dataset frames: pairing, episode splitting and resampling of one bag.

Each kept camera frame is paired with the joint state, the action and (when asked for) the object pose
nearest in time (within a tolerance); frames without a partner are dropped, except that the last frame
before a pause may lack an action (it shows the outcome of the last command) and gets zeros. The
remaining frames are cut into episodes where the recording pauses for longer than `max_gap`, and each
episode is resampled onto a fixed-rate clock (nearest frame per tick, with that frame's joints, action
and object pose).

Without an action topic, the action after frame t is the joint-position change to frame t+1 (after
resampling, so it matches the dataset's rate); the last frame of an episode gets zeros, which the
dataset's statistics leave out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .frame_pairing import check_no_overlap, nearest_indices, order_by_stamp, resample_indices, split_at_gaps
from .recorded_streams import RecordedStreams, Stream


@dataclass
class EpisodePlan:
    """One episode: camera message indices (read order) and the paired values, one row per frame."""

    image_indices: np.ndarray  # int64 [T]
    stamps_ns: np.ndarray  # int64 [T] camera stamps of the chosen frames
    joints: np.ndarray  # float32 [T, J]
    actions: np.ndarray  # float32 [T, A]
    object_poses: np.ndarray | None = None  # float32 [T, 3] x, y, yaw, when an object pose topic is read


@dataclass
class BagPlan:
    path: str
    episodes: list[EpisodePlan] = field(default_factory=list)
    camera_messages: int = 0
    unpaired_frames: int = 0  # camera frames with no joint state, action (or object pose) within tolerance
    short_episodes: int = 0  # runs of fewer than 2 frames, dropped

    def summary(self, storage: str, definitions: str) -> dict:
        return {
            "path": self.path,
            "storage": storage,
            "message_definitions": definitions,
            "camera_messages": self.camera_messages,
            "unpaired_frames": self.unpaired_frames,
            "short_episodes_dropped": self.short_episodes,
            "episodes": len(self.episodes),
            "frames": int(sum(len(e.image_indices) for e in self.episodes)),
        }


def plan_episodes(
    streams: RecordedStreams, fps: float, period_ns: int, tolerance_ns: int, max_gap_ns: int, joint_dim: int
) -> BagPlan:
    """Pair, split and resample the streams of one bag. Raises ValueError when time runs backwards."""
    what = f"bag {streams.path!r}: {streams.camera.topic}"
    camera_order = order_by_stamp(streams.camera.stamps_ns, max_gap_ns, what)
    camera_stamps = streams.camera.stamps_ns[camera_order]
    check_no_overlap(camera_stamps, period_ns, what)
    matched: dict[str, np.ndarray] = {}
    paired: dict[str, np.ndarray] = {}
    named = (("joints", streams.joints), ("actions", streams.actions), ("object_poses", streams.object_poses))
    for name, stream in named:
        if stream is None:
            continue
        stamps, values = _sorted(stream, max_gap_ns, streams.path)
        index = nearest_indices(camera_stamps, stamps, tolerance_ns)
        matched[name] = index >= 0
        paired[name] = np.where(matched[name][:, None], values[np.maximum(index, 0)], 0.0)
    keep = matched.get("joints", np.ones(len(camera_order), bool))
    if "object_poses" in matched:
        keep = keep & matched["object_poses"]
    if "actions" in matched:
        # A run's last frame shows the outcome of the last command and has no action after it: keep it,
        # with a zero action (a last action leads nowhere and stays out of the dataset's statistics).
        last = np.zeros(len(keep), bool)
        candidates = np.flatnonzero(keep)
        for run in split_at_gaps(camera_stamps[candidates], max_gap_ns):
            last[candidates[run.stop - 1]] = True
        keep = keep & (matched["actions"] | last)
    plan = BagPlan(streams.path, camera_messages=len(camera_order), unpaired_frames=int((~keep).sum()))
    kept = np.flatnonzero(keep)
    for run in split_at_gaps(camera_stamps[kept], max_gap_ns):
        rows = kept[run]
        if len(rows) < 2:
            plan.short_episodes += 1
            continue
        rows = rows[resample_indices(camera_stamps[rows], fps)]
        if len(rows) < 2:
            plan.short_episodes += 1
            continue
        joints = paired["joints"][rows] if "joints" in paired else np.zeros((len(rows), joint_dim))
        if "actions" in paired:
            actions = paired["actions"][rows]
        else:
            actions = np.zeros_like(joints)
            actions[:-1] = np.diff(joints, axis=0)
        poses = paired.get("object_poses")
        plan.episodes.append(
            EpisodePlan(
                image_indices=camera_order[rows],
                stamps_ns=camera_stamps[rows],
                joints=joints.astype(np.float32),
                actions=actions.astype(np.float32),
                object_poses=None if poses is None else poses[rows].astype(np.float32),
            )
        )
    return plan


def _sorted(stream: Stream, max_gap_ns: int, path: str) -> tuple[np.ndarray, np.ndarray]:
    order = order_by_stamp(stream.stamps_ns, max_gap_ns, f"bag {path!r}: {stream.topic}")
    return stream.stamps_ns[order], stream.values[order]
