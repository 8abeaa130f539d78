"""meta/ of a LeRobot v3.0 dataset written by `lerobot_export`: info.json, stats.json and the task and
episode tables (pyarrow is imported when they are written)."""

from __future__ import annotations

import json
from pathlib import Path

from .lerobot_format import INFO_PATH, V3_DATA_PATH, V3_EPISODES_PATH, V3_VIDEO_PATH

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000  # files per chunk folder
DATA_FILE_MB = 100  # LeRobot's defaults, recorded in info.json
VIDEO_FILE_MB = 200
# LeRobot's per-row bookkeeping features, after the recorded ones.
INDEX_FEATURES = {
    "timestamp": "float32",
    "frame_index": "int64",
    "episode_index": "int64",
    "index": "int64",
    "task_index": "int64",
}


def features(camera: str, image_size: tuple[int, int], video_info: dict, joint_names: list[str],
             action_dim: int, fps: int) -> dict:  # fmt: skip
    """info.json's features: the camera, observation.state (when there are joints), action, the indices."""
    table = {
        camera: {
            "dtype": "video",
            "shape": [*image_size, 3],
            "names": ["height", "width", "channels"],
            "info": video_info,
        }
    }
    if joint_names:
        table["observation.state"] = {"dtype": "float32", "shape": [len(joint_names)], "names": joint_names}
    # Actions that command the joints one to one are named after them, as LeRobot's robots name theirs.
    action_names = [f"action_{i}" for i in range(action_dim)]
    if len(joint_names) == action_dim:
        action_names = joint_names
    table["action"] = {"dtype": "float32", "shape": [action_dim], "names": action_names}
    for name, kind in INDEX_FEATURES.items():
        table[name] = {"dtype": kind, "shape": [1], "names": None}
    for name, feature in table.items():
        if name != camera:
            feature["fps"] = fps
    return table


def write_meta(root: Path, feature_table: dict, fps: int, frames: int, stats: dict, episodes: list[dict],
               task: str) -> None:  # fmt: skip
    """Everything under meta/: `episodes` are the rows of the episode table, one per episode."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": None,
        "total_episodes": len(episodes),
        "total_frames": frames,
        "total_tasks": 1,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILE_MB,
        "video_files_size_in_mb": VIDEO_FILE_MB,
        "fps": fps,
        "splits": {"train": f"0:{len(episodes)}"},
        "data_path": V3_DATA_PATH,
        "video_path": V3_VIDEO_PATH,
        "features": feature_table,
    }
    (root / INFO_PATH).parent.mkdir(parents=True, exist_ok=True)
    (root / INFO_PATH).write_text(json.dumps(info, indent=4) + "\n")
    (root / "meta" / "stats.json").write_text(json.dumps(stats, indent=4) + "\n")
    episodes_path = root / V3_EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(episodes), episodes_path)
    pq.write_table(_tasks_table(task), root / "meta" / "tasks.parquet")


def _tasks_table(task: str):
    """task_index by task. LeRobot reads this table with pandas and looks tasks up in the frame's index,
    which pandas rebuilds only from the "pandas" schema note that DataFrame.to_parquet writes."""
    import pyarrow as pa

    table = pa.table({"task_index": pa.array([0], pa.int64()), "task": pa.array([task], pa.string())})
    column_names = {"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object"}
    note = {
        "index_columns": ["task"],
        "column_indexes": [{**column_names, "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": name, "field_name": name, "pandas_type": pandas, "numpy_type": numpy, "metadata": None}
            for name, pandas, numpy in (("task_index", "int64", "int64"), ("task", "unicode", "object"))
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    return table.replace_schema_metadata({b"pandas": json.dumps(note).encode()})
