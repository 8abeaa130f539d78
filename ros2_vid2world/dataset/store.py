"""The dataset folder: memory-mapped numpy arrays of every frame, and a JSON manifest.

Layout:
    manifest.json   format, sources, topics, fps, image size, joint names, episodes, action statistics
    frames.npy      uint8 [N, H, W, 3]   RGB camera frames of every episode, back to back
    actions.npy     float32 [N, A]       actions[t] is the action taken after frame t
    joints.npy      float32 [N, J]       joint positions at frame t (J = 0 when none were recorded)
    stamps.npy      int64 [N]            frame time in nanoseconds (bag time)
    object_poses.npy float32 [N, 3]      optional: an object's pose at frame t, x, y (m) and yaw (rad) in
                                         the table plane; present when the manifest's "object_poses" says
                                         where it came from (for evaluations and probes, not for training)

Why this format: a trainer samples short clips at random positions; a memory-mapped .npy gives any
clip as a slice with no decoding and no extra dependency, and the OS page cache does the caching.
Episodes are contiguous ranges listed in the manifest, so a clip never spans two episodes.

Writing streams each array to a raw file in a staging folder beside the target; `close()` adds the
.npy headers, writes the manifest last and renames the folder into place, so an interrupted run
leaves no folder that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..world_model.folder import replace_folder

DATASET_FORMAT = "ros2_vid2world/dataset/1"
MANIFEST = "manifest.json"
ARRAYS = {"frames": np.uint8, "actions": np.float32, "joints": np.float32, "stamps": np.int64}
# Arrays a dataset may hold, each described by the manifest entry of its name (older folders lack them).
OPTIONAL_ARRAYS = {"object_poses": np.float32}
OBJECT_POSE_FIELDS = {"fields": ["x", "y", "yaw"], "units": ["m", "m", "rad"]}


class DatasetWriter:
    """Append episodes, then `close()` to publish the folder atomically (or `abort()` to drop it).

    Use as a context manager: an exception inside the block aborts, leaving any older folder intact.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        fps: float,
        joint_names: list[str] | None = None,
        object_pose_source: str | None = None,
    ):
        """`object_pose_source`: where every episode's object poses come from (e.g. a topic); given, the
        dataset keeps them (object_poses.npy) and `add_episode` needs them."""
        if not fps > 0:
            raise ValueError(f"`fps` must be > 0. Got {fps}.")
        self.path = Path(path)
        self.fps = float(fps)
        self.joint_names = list(joint_names or [])
        self.object_pose_source = object_pose_source
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._staging = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", dir=self.path.parent))
        self._dtypes = dict(ARRAYS, **(OPTIONAL_ARRAYS if object_pose_source is not None else {}))
        self._raw = {name: open(self._staging / f"{name}.raw", "wb") for name in self._dtypes}
        self._shapes: dict[str, tuple[int, ...]] = {}
        self._episodes: list[dict] = []
        self._frames = 0
        # Running sums for the action statistics, so nothing has to be read back.
        self._action_sum = self._action_sq = self._action_min = self._action_max = None

    def add_episode(
        self,
        frames: np.ndarray,
        actions: np.ndarray,
        joints: np.ndarray | None = None,
        stamps: np.ndarray | None = None,
        source: str = "",
        object_poses: np.ndarray | None = None,
    ) -> None:
        """frames [T, H, W, 3] uint8; actions [T, A]; joints [T, J] or None; stamps [T] ns or None;
        object_poses [T, 3] (x, y, yaw), exactly when the writer keeps them."""
        frames = np.asarray(frames)
        length = len(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise ValueError(f"`frames` must be uint8 [T, H, W, 3]. Got {frames.dtype} {list(frames.shape)}.")
        if length < 2:
            raise ValueError(f"an episode needs at least 2 frames. Got {length}.")
        actions = np.asarray(actions, dtype=np.float32)
        if actions.ndim != 2 or len(actions) != length:
            raise ValueError(f"`actions` must be [{length}, A]. Got {list(actions.shape)}.")
        if not np.isfinite(actions).all():
            raise ValueError("`actions` contain NaN or inf.")
        if joints is None:
            joints = np.zeros((length, len(self.joint_names)), np.float32)
        joints = np.asarray(joints, dtype=np.float32)
        if joints.shape != (length, len(self.joint_names)):
            raise ValueError(
                f"`joints` must be [{length}, {len(self.joint_names)}]. Got {list(joints.shape)}."
            )
        if stamps is None:
            stamps = (np.arange(length) * 1e9 / self.fps).astype(np.int64)
        stamps = np.asarray(stamps, dtype=np.int64)
        arrays = {"frames": frames, "actions": actions, "joints": joints, "stamps": stamps}
        if (object_poses is None) != (self.object_pose_source is None):
            raise ValueError(
                "`object_poses` must be given exactly when the writer keeps them (object_pose_source "
                f"{self.object_pose_source!r}). Got {'none' if object_poses is None else 'some'}."
            )
        if object_poses is not None:
            object_poses = np.asarray(object_poses, dtype=np.float32)
            if object_poses.shape != (length, 3) or not np.isfinite(object_poses).all():
                shape = list(object_poses.shape)
                raise ValueError(f"`object_poses` must be finite [{length}, 3] (x, y, yaw). Got {shape}.")
            arrays["object_poses"] = object_poses
        for name, array in arrays.items():  # check all before writing any: no half-written episode
            expected = self._shapes.get(name, array.shape[1:])
            if array.shape[1:] != expected:
                raise ValueError(
                    f"episode {len(self._episodes)}: {name} per frame is {list(array.shape[1:])}, "
                    f"earlier episodes had {list(expected)}."
                )
        for name, array in arrays.items():
            self._shapes.setdefault(name, array.shape[1:])
            self._raw[name].write(np.ascontiguousarray(array, dtype=self._dtypes[name]).tobytes())
        self._episodes.append({"start": self._frames, "length": length, "source": source})
        self._frames += length
        self._update_action_stats(actions[:-1])  # the last frame's action leads nowhere

    def _update_action_stats(self, actions: np.ndarray) -> None:
        a = actions.astype(np.float64)
        if self._action_sum is None:
            self._action_sum, self._action_sq = a.sum(0), (a * a).sum(0)
            self._action_min, self._action_max = a.min(0), a.max(0)
            self._action_count = len(a)
            return
        self._action_sum += a.sum(0)
        self._action_sq += (a * a).sum(0)
        self._action_min = np.minimum(self._action_min, a.min(0))
        self._action_max = np.maximum(self._action_max, a.max(0))
        self._action_count += len(a)

    def action_stats(self) -> dict:
        mean = self._action_sum / self._action_count
        std = np.sqrt(np.maximum(self._action_sq / self._action_count - mean * mean, 0.0))
        # A constant action dimension would divide by zero when normalising.
        std = np.where(std < 1e-6, 1.0, std)
        return {
            "mean": mean.tolist(),
            "std": std.tolist(),
            "min": self._action_min.tolist(),
            "max": self._action_max.tolist(),
        }

    def close(self, **manifest_extra) -> Path:
        """Finish the arrays, write the manifest and move the folder into place. Returns its path."""
        if not self._episodes:
            self.abort()
            raise ValueError(f"dataset {str(self.path)!r}: no episodes to write.")
        for name, raw in self._raw.items():
            raw.close()
            raw_to_npy(self._staging / f"{name}.raw", self._staging / f"{name}.npy",
                        (self._frames, *self._shapes[name]), self._dtypes[name])
        height, width = self._shapes["frames"][:2]
        manifest = {
            "format": DATASET_FORMAT,
            "frames": self._frames,
            "episodes": self._episodes,
            "fps": self.fps,
            "image_size": [int(height), int(width)],
            "action_dim": int(self._shapes["actions"][0]),
            "joint_names": self.joint_names,
            "action_stats": self.action_stats(),
            **manifest_extra,
        }
        if self.object_pose_source is not None:
            manifest["object_poses"] = {"source": self.object_pose_source, **OBJECT_POSE_FIELDS}
        (self._staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        replace_folder(self._staging, self.path)
        return self.path

    def abort(self) -> None:
        for raw in self._raw.values():
            raw.close()
        shutil.rmtree(self._staging, ignore_errors=True)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()


def raw_to_npy(raw: Path, npy: Path, shape: tuple[int, ...], dtype) -> None:
    """Prefix the raw array file `raw` with a .npy header as `npy`, then delete `raw`."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    with open(npy, "wb") as out, open(raw, "rb") as data:
        np.lib.format.write_array_header_1_0(out, header)
        shutil.copyfileobj(data, out, length=1 << 22)
    raw.unlink()


class EpisodeDataset:
    """A dataset folder opened read-only: memory-mapped arrays and the manifest.

    Raises ValueError naming the folder and what is wrong (missing, not a dataset, inconsistent).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        manifest_path = self.path / MANIFEST
        if not manifest_path.is_file():
            raise ValueError(
                f"dataset {str(self.path)!r}: no {MANIFEST} (create one with `vid2world dataset`)."
            )
        try:
            self.manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{manifest_path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
        if self.manifest.get("format") != DATASET_FORMAT:
            raise ValueError(
                f"{manifest_path}: format must be {DATASET_FORMAT!r}. Got {self.manifest.get('format')!r}."
            )
        self.arrays = {}
        # An optional array is read when the manifest describes it.
        for name in [*ARRAYS, *(name for name in OPTIONAL_ARRAYS if name in self.manifest)]:
            try:
                self.arrays[name] = np.load(self.path / f"{name}.npy", mmap_mode="r")
            except (OSError, ValueError) as exc:
                raise ValueError(f"dataset {str(self.path)!r}: cannot read {name}.npy ({exc}).") from None
            if len(self.arrays[name]) != self.manifest["frames"]:
                raise ValueError(
                    f"dataset {str(self.path)!r}: {name}.npy has {len(self.arrays[name])} frames, "
                    f"the manifest says {self.manifest['frames']}."
                )

    @property
    def frames(self) -> np.ndarray:
        return self.arrays["frames"]

    @property
    def actions(self) -> np.ndarray:
        return self.arrays["actions"]

    @property
    def joints(self) -> np.ndarray:
        return self.arrays["joints"]

    @property
    def stamps(self) -> np.ndarray:
        return self.arrays["stamps"]

    @property
    def object_poses(self) -> np.ndarray | None:
        """[N, 3] an object's x, y (m) and yaw (rad) per frame; None when the dataset keeps none."""
        return self.arrays.get("object_poses")

    @property
    def episodes(self) -> list[dict]:
        return self.manifest["episodes"]

    @property
    def action_dim(self) -> int:
        return int(self.manifest["action_dim"])

    @property
    def image_size(self) -> tuple[int, int]:
        height, width = self.manifest["image_size"]
        return int(height), int(width)

    @property
    def action_stats(self) -> dict:
        return self.manifest["action_stats"]

    @property
    def control_period(self) -> float:
        """Seconds per frame: recorded by `vid2world dataset`, else 1 / fps."""
        return float(self.manifest.get("control_period") or 1.0 / self.manifest["fps"])

    @property
    def action_space(self) -> str | None:
        """What the actions mean (`world_model.action_space`); None in datasets written before it was kept."""
        return self.manifest.get("action_space")

    def episode(self, index: int) -> dict[str, np.ndarray]:
        """The arrays of one episode (views into the memory maps)."""
        entry = self.episodes[index]
        span = slice(entry["start"], entry["start"] + entry["length"])
        return {name: array[span] for name, array in self.arrays.items()}

    def clip_starts(self, length: int, episodes: list[int] | None = None) -> np.ndarray:
        """Global frame indices where a clip of `length` frames starts and stays inside one episode."""
        chosen = range(len(self.episodes)) if episodes is None else episodes
        starts = [
            np.arange(e["start"], e["start"] + e["length"] - length + 1)
            for e in (self.episodes[i] for i in chosen)
            if e["length"] >= length
        ]
        return np.concatenate(starts) if starts else np.zeros(0, np.int64)
