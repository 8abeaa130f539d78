"""A training dataset folder -> a LeRobot v3.0 dataset, so that what a lab recorded opens in LeRobot's tools.

Written (one camera, one task):
    meta/                                        info.json, stats.json, tasks and episodes (lerobot_meta)
    data/chunk-000/file-XXX.parquet              rows: state, action, timestamp and the indices
    videos/<camera key>/chunk-000/file-XXX.mp4   H.264 (see video_frames), frame n shown at n / fps
Episodes go into the current data and video file one after another; once the video passes
`video_file_mb`, the next episode starts new files, as LeRobot's writer rolls over. Row timestamps are
frame_index / fps (the dataset's frames are at a fixed rate): where LeRobot's readers look for each frame
in the video, from the episode's `from_timestamp` on. Everything is written into a staging folder beside
`out` and renamed into place at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..world_model.folder import replace_folder
from .lerobot_format import DEFAULT_CAMERA_KEY, V3_DATA_PATH, V3_VIDEO_PATH
from .lerobot_meta import CHUNKS_SIZE, CODEBASE_VERSION, INDEX_FEATURES, VIDEO_FILE_MB, features, write_meta
from .lerobot_stats import episode_columns, image_sample, image_stats, vector_stats
from .store import EpisodeDataset
from .video_frames import VideoWriter


@dataclass(frozen=True)
class LeRobotExport:
    """How the dataset's episodes are named and split in the LeRobot dataset."""

    camera_key: str = DEFAULT_CAMERA_KEY  # the video feature of the frames
    task: str | None = None  # the one task every episode performs; None: the dataset folder's name
    video_file_mb: float = VIDEO_FILE_MB  # once a video file is this big, the next episode starts new files

    def __post_init__(self):
        if not self.camera_key or self.camera_key in ("observation.state", "action", *INDEX_FEATURES):
            raise ValueError(f"--camera-key must name a feature of its own. Got {self.camera_key!r}.")
        if not self.video_file_mb > 0:
            raise ValueError(f"`video_file_mb` must be > 0. Got {self.video_file_mb}.")


def lerobot_from_dataset(dataset: str | os.PathLike, out: str | os.PathLike, options: LeRobotExport) -> dict:
    """Write the LeRobot dataset `out` from the dataset folder `dataset`; returns a summary."""
    data = EpisodeDataset(dataset)
    fps = int(round(data.manifest["fps"]))
    if abs(fps - data.manifest["fps"]) > 1e-6:
        raise ValueError(
            f"dataset {str(data.path)!r} is at {data.manifest['fps']:g} fps; a LeRobot dataset's rate is a "
            "whole number of frames per second (rebuild the dataset with --fps)."
        )
    task = options.task if options.task is not None else data.path.resolve().name
    joint_names = list(data.manifest["joint_names"])
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        files = _EpisodeFiles(staging, data, fps, options.camera_key, options.video_file_mb)
        try:
            rows = [files.add(number, task) for number in range(len(data.episodes))]
        finally:
            files.close()
        stats = {options.camera_key: image_stats(image_sample(data.frames), len(data.frames))}
        stats.update({name: vector_stats(np.concatenate(value)) for name, value in files.values.items()})
        camera = (options.camera_key, data.image_size, files.video_info)
        table = features(*camera, joint_names, data.action_dim, fps)
        write_meta(staging, table, fps, int(data.manifest["frames"]), stats, rows, task)
        replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "out": str(out),
        "codebase_version": CODEBASE_VERSION,
        "episodes": len(rows),
        "frames": int(data.manifest["frames"]),
        "fps": fps,
        "camera_key": options.camera_key,
        "task": task,
        "video_files": files.file + 1,
    }


class _EpisodeFiles:
    """The data and video files episodes are appended to, rolled over at the video size limit."""

    def __init__(self, root: Path, data: EpisodeDataset, fps: int, camera: str, video_file_mb: float):
        self.root, self.data, self.fps, self.camera = root, data, fps, camera
        self.limit = video_file_mb * 2**20
        self.file, self.video_info = 0, None
        self.values: dict[str, list[np.ndarray]] = {}  # every episode's columns, for the dataset statistics
        self.video = self.table = None
        self._open()

    def _open(self) -> None:
        import pyarrow.parquet as pq

        self.where = {"chunk_index": self.file // CHUNKS_SIZE, "file_index": self.file % CHUNKS_SIZE}
        video = self.root / V3_VIDEO_PATH.format(video_key=self.camera, **self.where)
        self.video = VideoWriter(video, self.fps, self.data.image_size)
        path = self.root / V3_DATA_PATH.format(**self.where)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.table = pq.ParquetWriter(str(path), _schema(self.data), compression="snappy")

    def add(self, number: int, task: str) -> dict:
        """Append episode `number`; returns its row of the episode table."""
        arrays, entry = self.data.episode(number), self.data.episodes[number]
        length, start, key = entry["length"], entry["start"], self.camera
        from_timestamp = self.video.frames / self.fps
        for frame in arrays["frames"]:
            self.video.write(frame)
        self.video_info = self.video_info or self.video.info
        values = _episode_values(arrays, number, start, self.fps)
        self.table.write_table(_table(values, self.table.schema))  # one row group per episode, as LeRobot's
        for name, value in values.items():
            self.values.setdefault(name, []).append(value)
        stats = {key: image_stats(image_sample(arrays["frames"]), length)}
        stats.update({name: vector_stats(value) for name, value in values.items()})
        row = {
            "episode_index": number,
            "tasks": [task],
            "length": length,
            "data/chunk_index": self.where["chunk_index"],
            "data/file_index": self.where["file_index"],
            "dataset_from_index": start,
            "dataset_to_index": start + length,
            f"videos/{key}/chunk_index": self.where["chunk_index"],
            f"videos/{key}/file_index": self.where["file_index"],
            f"videos/{key}/from_timestamp": from_timestamp,
            f"videos/{key}/to_timestamp": from_timestamp + length / self.fps,
            "meta/episodes/chunk_index": 0,
            "meta/episodes/file_index": 0,
            **episode_columns(stats),
        }
        if self.video.bytes >= self.limit and number + 1 < len(self.data.episodes):
            self.close()
            self.file += 1
            self._open()
        return row

    def close(self) -> None:
        for writer in (self.video, self.table):
            if writer is not None:
                writer.close()
        self.video = self.table = None


def _episode_values(
    arrays: dict[str, np.ndarray], number: int, start: int, fps: int
) -> dict[str, np.ndarray]:
    """The columns of one episode's rows: [T, D] vectors and [T] numbers, in the schema's order."""
    length = len(arrays["actions"])
    frame_index = np.arange(length, dtype=np.int64)
    values = {}
    if arrays["joints"].shape[1]:
        values["observation.state"] = np.asarray(arrays["joints"], np.float32)
    values["action"] = np.asarray(arrays["actions"], np.float32)
    values["timestamp"] = (frame_index / fps).astype(np.float32)
    values["frame_index"] = frame_index
    values["episode_index"] = np.full(length, number, np.int64)
    values["index"] = start + frame_index
    values["task_index"] = np.zeros(length, np.int64)
    return values


def _schema(data: EpisodeDataset):
    import pyarrow as pa

    # Fixed-size lists: what Hugging Face `datasets` writes for LeRobot's features of shape [N].
    vectors = [("observation.state", len(data.manifest["joint_names"])), ("action", data.action_dim)]
    fields = [pa.field(name, pa.list_(pa.float32(), size)) for name, size in vectors if size]
    fields += [pa.field(name, pa.type_for_alias(kind)) for name, kind in INDEX_FEATURES.items()]
    return pa.schema(fields)


def _table(values: dict[str, np.ndarray], schema):
    import pyarrow as pa

    columns = []
    for value in values.values():
        if value.ndim == 2:
            columns.append(pa.FixedSizeListArray.from_arrays(pa.array(value.ravel()), value.shape[1]))
        else:
            columns.append(pa.array(value))
    return pa.Table.from_arrays(columns, schema=schema)
