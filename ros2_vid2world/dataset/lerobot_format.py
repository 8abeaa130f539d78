"""The LeRobot dataset layout: meta/info.json, its format versions, features and where each episode lives.

v2.0 / v2.1: one parquet table and one mp4 per episode, at paths made from info.json's `data_path` and
`video_path` templates ({episode_chunk} = episode_index // chunks_size); meta/episodes.jsonl lists the
episodes and their lengths (v2.1 adds per-episode statistics, which are not needed here).

v3.0: tables and videos hold many episodes each (data/chunk-XXX/file-XXX.parquet,
videos/<video_key>/chunk-XXX/file-XXX.mp4); meta/episodes/chunk-XXX/file-XXX.parquet gives each episode's
file indices and, per camera, where it starts in its video (`from_timestamp`; a row's frame is at
from_timestamp + its `timestamp`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

INFO_PATH = "meta/info.json"
SUPPORTED_VERSIONS = ("v2.0", "v2.1", "v3.0")
V2_EPISODES_PATH = "meta/episodes.jsonl"
V3_EPISODES_DIR = "meta/episodes"
# The v3.0 layout LeRobot writes by default (and `lerobot_export` writes).
V3_DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
V3_VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
V3_EPISODES_PATH = V3_EPISODES_DIR + "/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
# The names LeRobot's robots record under (the defaults of `vid2world dataset --lerobot/--to-lerobot`).
DEFAULT_STATE_KEY = "observation.state"
DEFAULT_ACTION_KEY = "action"
DEFAULT_CAMERA_KEY = "observation.images.camera"  # written on export; read: the only camera there is
# What the camera of a LeRobot dataset can be: an mp4 per episode/file, or PNG bytes in the table.
CAMERA_DTYPES = ("video", "image")
NUMERIC_DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")


@dataclass(frozen=True)
class LeRobotEpisode:
    """Where one episode's rows and camera frames are (paths relative to the dataset folder)."""

    index: int
    length: int
    data_file: str
    video_file: str | None  # None when the camera is an "image" feature stored in the table
    from_timestamp: float = 0.0  # where the episode starts in its video (v3.0 files hold several)


def read_info(root: Path) -> dict:
    """meta/info.json, checked: a supported codebase_version, fps > 0 and a features table."""
    if not root.is_dir():
        raise ValueError(f"--lerobot {str(root)!r} does not exist or is not a folder.")
    path = root / INFO_PATH
    if not path.is_file():
        raise ValueError(f"--lerobot {str(root)!r} is not a LeRobot dataset: it has no {INFO_PATH}.")
    try:
        info = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
    version = info.get("codebase_version")
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(
            f"{path}: codebase_version {version!r} is not supported; "
            f"supported: {', '.join(SUPPORTED_VERSIONS)}."
        )
    if not isinstance(info.get("features"), dict) or not isinstance(info.get("fps"), (int, float)):
        raise ValueError(f"{path}: needs `fps` (a number) and `features` (a table of features).")
    if not info["fps"] > 0:
        raise ValueError(f"{path}: fps must be > 0. Got {info['fps']}.")
    return info


def describe_features(info: dict) -> str:
    """'action (float32 [6]), observation.images.top (video [480, 640, 3]), ...' for error messages."""
    return ", ".join(
        f"{key} ({feature.get('dtype')} {list(feature.get('shape') or [])})"
        for key, feature in info["features"].items()
    )


def camera_key(info: dict, requested: str | None) -> str:
    """The camera feature: `requested`, else the only video feature (else the only image feature)."""
    features = info["features"]
    if requested is not None:
        if requested not in features:
            raise ValueError(
                f"--camera-key {requested!r} is not a feature of the dataset; "
                f"it has: {describe_features(info)}."
            )
        dtype = features[requested].get("dtype")
        if dtype not in CAMERA_DTYPES:
            raise ValueError(
                f"--camera-key {requested!r} is a {dtype} feature, not a camera (its dtype must be one of "
                f"{list(CAMERA_DTYPES)}); cameras: {_keys_of(info, CAMERA_DTYPES) or 'none'}."
            )
        return requested
    for dtype in CAMERA_DTYPES:
        keys = [key for key, feature in features.items() if feature.get("dtype") == dtype]
        if len(keys) == 1:
            return keys[0]
        if len(keys) > 1:
            raise ValueError(
                f"the dataset has several {dtype} features; pass --camera-key, one of: {', '.join(keys)}."
            )
    raise ValueError(f"the dataset has no video or image feature; it has: {describe_features(info)}.")


def vector_key(info: dict, key: str, option: str) -> int:
    """Check that `key` is a numeric feature of one dimension; returns its length."""
    feature = info["features"].get(key)
    if feature is None:
        raise ValueError(
            f"{option} {key!r} is not a feature of the dataset; it has: {describe_features(info)}."
        )
    shape = list(feature.get("shape") or [])
    if feature.get("dtype") not in NUMERIC_DTYPES or len(shape) != 1:
        raise ValueError(
            f"{option} {key!r} is a {feature.get('dtype')} feature of shape {shape}; "
            "expected numbers of shape [N]."
        )
    return int(shape[0])


def feature_names(feature: dict, length: int) -> list[str] | None:
    """A vector feature's per-dimension names: `names` as a list, or the one list of a dict
    (older datasets write {"motors": [...]}); None when they do not name every dimension."""
    names = feature.get("names")
    if isinstance(names, dict) and len(names) == 1:
        names = next(iter(names.values()))
    if isinstance(names, list) and len(names) == length and all(isinstance(n, str) for n in names):
        return list(names)
    return None


def list_episodes(root: Path, info: dict, camera: str) -> list[LeRobotEpisode]:
    """Every episode of the dataset, in episode_index order."""
    video = info["features"][camera]["dtype"] == "video"
    if info["codebase_version"].startswith("v2"):
        return _v2_episodes(root, info, camera if video else None)
    return _v3_episodes(root, info, camera if video else None)


def _v2_episodes(root: Path, info: dict, video_key: str | None) -> list[LeRobotEpisode]:
    path = root / V2_EPISODES_PATH
    if not path.is_file():
        raise ValueError(f"{str(root)!r} is a {info['codebase_version']} dataset without {V2_EPISODES_PATH}.")
    try:
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        entries = sorted((int(row["episode_index"]), int(row["length"])) for row in rows)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        raise ValueError(f"{path}: every line must be a JSON object with episode_index and length.") from None
    chunks = int(info.get("chunks_size") or 1000)
    episodes = []
    for index, length in entries:
        where = {"episode_chunk": index // chunks, "episode_index": index}
        video_file = None
        if video_key is not None:
            video_file = _path(info, "video_path", video_key=video_key, **where)
        episodes.append(LeRobotEpisode(index, length, _path(info, "data_path", **where), video_file))
    return episodes


def _v3_episodes(root: Path, info: dict, video_key: str | None) -> list[LeRobotEpisode]:
    import pyarrow.parquet as pq

    files = sorted((root / V3_EPISODES_DIR).glob("*/*.parquet"))
    if not files:
        raise ValueError(f"{str(root)!r} is a v3.0 dataset without {V3_EPISODES_DIR}/chunk-*/file-*.parquet.")
    columns = ["episode_index", "length", "data/chunk_index", "data/file_index"]
    if video_key is not None:
        columns += [f"videos/{video_key}/{name}" for name in ("chunk_index", "file_index", "from_timestamp")]
    episodes = []
    for file in files:
        available = pq.read_schema(file).names
        missing = [column for column in columns if column not in available]
        if missing:
            raise ValueError(f"{file}: episode metadata without the column(s) {', '.join(missing)}.")
        for row in pq.read_table(file, columns=columns).to_pylist():
            data = {"chunk_index": row["data/chunk_index"], "file_index": row["data/file_index"]}
            video_file, start = None, 0.0
            if video_key is not None:
                prefix = f"videos/{video_key}/"
                video_file = _path(
                    info,
                    "video_path",
                    video_key=video_key,
                    chunk_index=row[prefix + "chunk_index"],
                    file_index=row[prefix + "file_index"],
                )
                start = float(row[prefix + "from_timestamp"])
            episodes.append(
                LeRobotEpisode(
                    int(row["episode_index"]),
                    int(row["length"]),
                    _path(info, "data_path", **data),
                    video_file,
                    start,
                )
            )
    return sorted(episodes, key=lambda e: e.index)


def _path(info: dict, name: str, **values) -> str:
    """info.json's `name` template filled in with `values`."""
    template = info.get(name)
    try:
        return template.format(**values)
    except (AttributeError, KeyError, IndexError, ValueError):
        fields = ", ".join("{" + value + "}" for value in values)
        raise ValueError(
            f"{INFO_PATH}: `{name}` must be a path template using {fields}. Got {template!r}."
        ) from None


def _keys_of(info: dict, dtypes: tuple[str, ...]) -> str:
    return ", ".join(key for key, feature in info["features"].items() if feature.get("dtype") in dtypes)
