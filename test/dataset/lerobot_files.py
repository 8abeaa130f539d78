"""Small LeRobot datasets written here, with pyarrow and PyAV, in the layouts LeRobot writes (v2.1 and v3.0).

Written independently of the package's own LeRobot code, following lerobot/datasets (info.json, path
templates, meta/episodes.jsonl in v2.1; multi-episode files and meta/episodes/*.parquet with per-episode
file indices and video from/to timestamps in v3.0). Every frame is four flat colour blocks of its own,
so a decoded frame can be told apart from every other frame.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

FPS = 10
SIZE = (32, 48)  # H, W: even (yuv420p), blocks of 16x24 on the chroma grid
CAMERA = "observation.images.top"
JOINTS = ["shoulder", "elbow", "wrist"]
V21_DATA = "data/chunk-{episode_chunk:03d}/episode_{episode_index:06d}.parquet"
V21_VIDEO = "videos/chunk-{episode_chunk:03d}/{video_key}/episode_{episode_index:06d}.mp4"
V30_DATA = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V30_VIDEO = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
# Flat blocks come back from yuv420p H.264/AV1 within a few levels on average; block edges ring more.
MEAN_TOLERANCE = 3.0
MAX_TOLERANCE = 40


@dataclass
class Truth:
    """What was written, per episode: frames uint8 [T, H, W, 3], states and actions [T, J], timestamps [T]."""

    indices: list[int]
    frames: list[np.ndarray]
    states: list[np.ndarray]
    actions: list[np.ndarray]
    timestamps: list[np.ndarray]


def block_frames(count: int, seed: int) -> np.ndarray:
    """uint8 [count, H, W, 3]: each frame four flat blocks of random mid-range colours."""
    colours = np.random.default_rng(seed).integers(24, 232, (count, 2, 2, 3), dtype=np.uint8)
    return np.repeat(np.repeat(colours, SIZE[0] // 2, axis=1), SIZE[1] // 2, axis=2)


def episodes_truth(lengths: list[int], seed: int = 0) -> Truth:
    """Joint random walks; each action is the joints' next change (their action space: joint_delta)."""
    rng = np.random.default_rng(seed)
    truth = Truth([], [], [], [], [])
    for number, length in enumerate(lengths):
        states = np.cumsum(rng.normal(0, 0.2, (length + 1, len(JOINTS))), axis=0).astype(np.float32)
        truth.indices.append(number)
        truth.frames.append(block_frames(length, seed * 100 + number))
        truth.states.append(states[:-1])
        truth.actions.append(np.diff(states, axis=0).astype(np.float32))
        truth.timestamps.append((np.arange(length) / FPS).astype(np.float32))
    return truth


def write_mp4(path: Path, frames: np.ndarray, codec: str = "libx264") -> None:
    """Frames 1/FPS apart, encoded as LeRobot encodes them (yuv420p, a keyframe every 2 frames)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=FPS, options={"g": "2", "crf": "10"})
        stream.width, stream.height, stream.pix_fmt = SIZE[1], SIZE[0], "yuv420p"
        for index, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="rgb24")
            picture.pts, picture.time_base = index, Fraction(1, FPS)
            container.mux(stream.encode(picture))
        container.mux(stream.encode())


def features(camera_dtype: str, state_names) -> dict:
    camera = {"dtype": camera_dtype, "shape": [*SIZE, 3], "names": ["height", "width", "channels"]}
    if camera_dtype == "video":
        camera["info"] = {"video.fps": FPS, "video.codec": "h264", "video.pix_fmt": "yuv420p"}
    vector = {"dtype": "float32", "shape": [len(JOINTS)]}
    scalar = {"shape": [1], "names": None}
    table = {
        CAMERA: camera,
        "observation.state": {**vector, "names": state_names},
        "action": {**vector, "names": JOINTS},
        "timestamp": {"dtype": "float32", **scalar},
    }
    for name in ("frame_index", "episode_index", "index", "task_index"):
        table[name] = {"dtype": "int64", **scalar}
    return table


def data_table(truth: Truth, numbers: list[int], first: int, fixed: bool, images: bool = False) -> pa.Table:
    """The rows of episodes `numbers` (positions in truth), as LeRobot's data files hold them; vectors as
    fixed-size lists (what Hugging Face datasets writes) or as plain lists."""

    def vectors(arrays: list[np.ndarray]) -> pa.Array:
        flat = pa.array(np.concatenate(arrays).ravel(), pa.float32())
        if fixed:
            return pa.FixedSizeListArray.from_arrays(flat, len(JOINTS))
        return pa.ListArray.from_arrays(pa.array(np.arange(0, len(flat) + 1, len(JOINTS)), pa.int32()), flat)

    lengths = [len(truth.actions[n]) for n in numbers]
    columns = {
        "observation.state": vectors([truth.states[n] for n in numbers]),
        "action": vectors([truth.actions[n] for n in numbers]),
        "timestamp": pa.array(np.concatenate([truth.timestamps[n] for n in numbers]), pa.float32()),
        "frame_index": pa.array(np.concatenate([np.arange(length) for length in lengths])),
        "episode_index": pa.array(np.repeat([truth.indices[n] for n in numbers], lengths)),
        "index": pa.array(first + np.arange(sum(lengths))),
        "task_index": pa.array(np.zeros(sum(lengths), np.int64)),
    }
    if images:
        cells = [{"bytes": png(frame), "path": None} for n in numbers for frame in truth.frames[n]]
        columns[CAMERA] = pa.array(cells)  # a Hugging Face Image: the encoded bytes, or a path
    return pa.table(columns)


def png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def write_info(root: Path, version: str, truth: Truth, feature_table: dict, **extra) -> None:
    info = {
        "codebase_version": version,
        "robot_type": "test_arm",
        "total_episodes": len(truth.indices),
        "total_frames": int(sum(map(len, truth.actions))),
        "total_tasks": 1,
        "chunks_size": 1000,
        "fps": FPS,
        "splits": {"train": f"0:{len(truth.indices)}"},
        "features": feature_table,
        **extra,
    }
    (root / "meta").mkdir(parents=True, exist_ok=True)
    (root / "meta" / "info.json").write_text(json.dumps(info, indent=4))


def write_v21(
    root: Path, truth: Truth, codec: str = "libx264", camera_dtype: str = "video", version: str = "v2.1"
) -> None:
    """One parquet and one mp4 per episode, meta/episodes.jsonl and tasks.jsonl, as LeRobot v2.1 (and v2.0,
    whose layout is the same; its statistics, which are not read, are kept differently)."""
    # Older datasets name a vector's dimensions in a dict: {"motors": [...]}.
    feature_table = features(camera_dtype, state_names={"motors": JOINTS})
    video_path = V21_VIDEO if camera_dtype == "video" else None
    write_info(root, version, truth, feature_table, total_chunks=1, data_path=V21_DATA, video_path=video_path)
    first = 0
    for number, index in enumerate(truth.indices):
        where = {"episode_chunk": 0, "episode_index": index}
        path = root / V21_DATA.format(**where)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data_table(truth, [number], first, fixed=False, images=camera_dtype == "image"), path)
        if camera_dtype == "video":
            write_mp4(root / V21_VIDEO.format(video_key=CAMERA, **where), truth.frames[number], codec)
        first += len(truth.actions[number])
    lines = [
        {"episode_index": index, "tasks": ["reach"], "length": len(actions)}
        for index, actions in zip(truth.indices, truth.actions, strict=True)
    ]
    (root / "meta" / "episodes.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (root / "meta" / "tasks.jsonl").write_text(json.dumps({"task_index": 0, "task": "reach"}) + "\n")


def write_v30(
    root: Path, truth: Truth, data_files: list[list[int]], video_files: list[list[int]], codec="libx264"
) -> None:
    """Episodes grouped into data files and (maybe differently) into video files, as LeRobot v3.0."""
    files = {"data_files_size_in_mb": 100, "video_files_size_in_mb": 200, "data_path": V30_DATA}
    write_info(root, "v3.0", truth, features("video", JOINTS), **files, video_path=V30_VIDEO)
    lengths = [len(actions) for actions in truth.actions]
    starts = np.concatenate([[0], np.cumsum(lengths)]).tolist()
    rows = [
        {
            "episode_index": truth.indices[n],
            "tasks": ["reach"],
            "length": lengths[n],
            "dataset_from_index": starts[n],
            "dataset_to_index": starts[n + 1],
            "meta/episodes/chunk_index": 0,
            "meta/episodes/file_index": 0,
        }
        for n in range(len(lengths))
    ]
    for file, numbers in enumerate(data_files):
        path = root / V30_DATA.format(chunk_index=0, file_index=file)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(data_table(truth, numbers, starts[numbers[0]], fixed=True), path)
        for n in numbers:
            rows[n].update({"data/chunk_index": 0, "data/file_index": file})
    prefix = f"videos/{CAMERA}/"
    for file, numbers in enumerate(video_files):
        frames = np.concatenate([truth.frames[n] for n in numbers])
        write_mp4(root / V30_VIDEO.format(video_key=CAMERA, chunk_index=0, file_index=file), frames, codec)
        offset = 0.0
        for n in numbers:  # an episode starts in its file where the ones before it end
            end = offset + lengths[n] / FPS
            rows[n].update({prefix + "chunk_index": 0, prefix + "file_index": file})
            rows[n].update({prefix + "from_timestamp": offset, prefix + "to_timestamp": end})
            offset = end
    episodes = root / "meta" / "episodes" / "chunk-000" / "file-000.parquet"
    episodes.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), episodes)
    pq.write_table(pa.table({"task_index": [0], "task": ["reach"]}), root / "meta" / "tasks.parquet")
