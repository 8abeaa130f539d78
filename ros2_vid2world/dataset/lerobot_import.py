"""A LeRobot dataset folder (v2.0, v2.1 or v3.0) -> a training dataset folder (`DatasetWriter`).

Pass 1 reads every chosen episode's table (actions, state, timestamps) and checks it, so that a wrong key
or a broken table is found before anything is made; pass 2 decodes the camera frames (each video once,
front to back) and writes the episodes. The writer publishes the folder at the end, so a failure in
pass 2 (a video shorter than its table) leaves nothing that looks complete.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..bags.action_space_inference import infer_action_space
from ..image_messages import resize_rgb
from ..world_model.action_space import check_action_space
from .lerobot_format import (
    DEFAULT_ACTION_KEY,
    DEFAULT_STATE_KEY,
    LeRobotEpisode,
    camera_key,
    feature_names,
    list_episodes,
    read_info,
    vector_key,
)
from .lerobot_tables import EpisodeTables, image_column, vector_column
from .store import DatasetWriter
from .video_frames import MissingFrame, VideoReader

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeRobotImport:
    """Which features of a LeRobot dataset become frames, joints and actions. None means "from the data"."""

    camera_key: str | None = None  # None: the only video feature (else the only image feature)
    state_key: str | None = None  # joint positions; None: observation.state when present, else no joints
    action_key: str = DEFAULT_ACTION_KEY
    episodes: tuple[int, ...] | None = None  # episode_index values; None: every episode
    size: tuple[int, int] | None = None  # (H, W); None: the camera's size
    action_space: str | None = None  # None: told from the joints' motion when it can be

    def __post_init__(self):
        if self.size is not None and (len(self.size) != 2 or min(self.size) < 1):
            raise ValueError(f"`size` must be (height, width) >= 1. Got {self.size}.")
        if self.action_space is not None:
            check_action_space(self.action_space, "--action-space")
        if self.episodes is not None and (not self.episodes or min(self.episodes) < 0):
            raise ValueError(f"`episodes` must be episode indices >= 0. Got {list(self.episodes)}.")


@dataclass
class _Episode:
    """Pass 1's result for one episode: its place in the dataset and its table's numbers."""

    where: LeRobotEpisode
    times: np.ndarray  # float64 [T] seconds from the episode's start
    actions: np.ndarray  # float32 [T, A]
    joints: np.ndarray | None  # float32 [T, J]


def dataset_from_lerobot(
    root: str | os.PathLike, out: str | os.PathLike, options: LeRobotImport, progress: bool = False
) -> dict:
    """Write the dataset folder `out` from the LeRobot dataset at `root`; returns a summary."""
    root = Path(root)
    info = read_info(root)
    fps = float(info["fps"])
    camera = camera_key(info, options.camera_key)
    action_dim = vector_key(info, options.action_key, "--action-key")
    state = options.state_key
    if state is None and DEFAULT_STATE_KEY in info["features"]:
        state = DEFAULT_STATE_KEY
    joint_names = []
    if state is not None:
        count = vector_key(info, state, "--state-key")
        joint_names = feature_names(info["features"][state], count) or [f"{state}[{i}]" for i in range(count)]
    chosen = _choose(list_episodes(root, info, camera), options.episodes, root)

    tables = EpisodeTables(root)
    episodes = [_read_numbers(tables, where, options.action_key, state) for where in chosen]
    action_space, how = _action_space(options, episodes, 1.0 / fps)

    cameras = _CameraFrames(root, tables, camera, info["features"][camera]["dtype"] == "video", fps)
    with DatasetWriter(out, fps=fps, joint_names=joint_names) as writer, cameras:
        for episode in tqdm(episodes, desc="episodes", unit="episode", disable=not progress):
            frames = cameras.of(episode)
            if options.size is not None:
                frames = [resize_rgb(frame, options.size) for frame in frames]
            size = frames[0].shape[:2]
            writer.add_episode(
                np.stack(frames),
                episode.actions,
                episode.joints,
                # Whole microseconds: a float32 timestamp holds no finer time, only rounding noise.
                stamps=np.round(episode.times * 1e6).astype(np.int64) * 1000,
                source=f"{root} episode {episode.where.index}",
            )
        source = {
            "path": str(root),
            "format": "lerobot",
            "codebase_version": info["codebase_version"],
            "episodes": [e.where.index for e in episodes],
        }
        keys = {"image": camera, "joints": state, "actions": options.action_key}
        action_source = f"{options.action_key} of the LeRobot dataset {str(root)!r}"
        path = writer.close(
            sources=[source],
            keys=keys,
            action_source=action_source,
            control_period=1.0 / fps,
            action_space=action_space,
        )
    return {
        "out": str(path),
        "episodes": len(episodes),
        "frames": int(sum(len(e.times) for e in episodes)),
        "fps": fps,
        "image_size": [int(v) for v in size],
        "action_dim": action_dim,
        "joint_names": joint_names,
        "action_source": action_source,
        "control_period": 1.0 / fps,
        "action_space": action_space,
        "action_space_source": how,
        "lerobot": {**source, "keys": keys},
    }


def _choose(
    episodes: list[LeRobotEpisode], wanted: tuple[int, ...] | None, root: Path
) -> list[LeRobotEpisode]:
    if not episodes:
        raise ValueError(f"the LeRobot dataset {str(root)!r} lists no episodes.")
    if wanted is None:
        return episodes
    known, wanted = {e.index for e in episodes}, set(wanted)
    missing = sorted(wanted - known)
    if missing:
        raise ValueError(
            f"--episodes {missing} are not in the LeRobot dataset {str(root)!r}; "
            f"it has {span_text(sorted(known))}."
        )
    return [e for e in episodes if e.index in wanted]


def span_text(indices: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2,5,7-8' (the --episodes syntax)."""
    parts, start = [], None
    for position, index in enumerate(indices):
        if start is None:
            start = index
        if position + 1 == len(indices) or indices[position + 1] != index + 1:
            parts.append(str(index) if index == start else f"{start}-{index}")
            start = None
    return ",".join(parts)


def _read_numbers(
    tables: EpisodeTables, where: LeRobotEpisode, action_key: str, state: str | None
) -> _Episode:
    """One episode's timestamps, actions and joints, checked."""
    rows = tables.rows(where, [action_key, "timestamp", *([state] if state else [])])
    name = f"{tables.root / where.data_file} (episode {where.index})"
    if rows.num_rows < 2:
        raise ValueError(f"{name}: {rows.num_rows} frame(s); an episode needs at least 2.")
    times = vector_column(rows, "timestamp", name)[:, 0].astype(np.float64)
    if not (np.diff(times) > 0).all():
        raise ValueError(f"{name}: timestamps must increase with frame_index.")
    actions = vector_column(rows, action_key, name)
    if not np.isfinite(actions).all():
        raise ValueError(f"{name}: {action_key} holds NaN or inf.")
    return _Episode(where, times, actions, vector_column(rows, state, name) if state else None)


def _action_space(options: LeRobotImport, episodes: list[_Episode], period: float) -> tuple[str | None, str]:
    if options.action_space is not None:
        return options.action_space, "--action-space"
    joints = [e.joints for e in episodes if e.joints is not None]
    space, how = infer_action_space(joints, [e.actions for e in episodes if e.joints is not None], period)
    if space is None:
        LOGGER.warning(
            f"the action space of {options.action_key} is not recorded: {how}; pass --action-space "
            "(joint_velocity, joint_position or joint_delta) so that a model trained on it can command "
            "a robot."
        )
    return space, how


class _CameraFrames:
    """An episode's camera frames: from its video (each file opened once, a v3.0 file's episodes read one
    after the other) or from the images in its table."""

    def __init__(self, root: Path, tables: EpisodeTables, camera: str, video: bool, fps: float):
        self.root, self.tables, self.camera, self.video, self.fps = root, tables, camera, video, fps
        self.reader: VideoReader | None = None

    def of(self, episode: _Episode) -> list[np.ndarray]:
        """uint8 [H, W, 3] frames, one per row."""
        if not self.video:
            rows = self.tables.rows(episode.where, [self.camera])
            return image_column(rows, self.camera, str(self.root / episode.where.data_file))
        path = self.root / episode.where.video_file
        if self.reader is None or self.reader.path != path:
            self.close()
            if not path.is_file():
                raise ValueError(f"the video {str(path)!r} is missing.")
            self.reader = VideoReader(path, self.fps)
        try:
            return self.reader.frames_at(episode.where.from_timestamp + episode.times)
        except MissingFrame as missing:
            raise ValueError(_missing_text(episode, path, missing)) from None

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def __enter__(self) -> _CameraFrames:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _missing_text(episode: _Episode, video: Path, missing: MissingFrame) -> str:
    rows = len(episode.times)
    if missing.at_end:
        return (
            f"episode {episode.where.index}: the video {str(video)!r} has {missing.found} frames for it, "
            f"its table {rows} rows."
        )
    return (
        f"episode {episode.where.index}: the video {str(video)!r} has no frame at {missing.time:.4f} s "
        f"(row {missing.found} of {rows})."
    )
