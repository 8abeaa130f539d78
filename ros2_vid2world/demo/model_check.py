"""Is a world-model folder usable for the demo? Checked from its manifest, before any process starts.

The planner node would find the same problems, but only after seconds of start-up and in its own log;
here they become one error line (exit code 2) naming the folder and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .demo_settings import SHIPPED_MODELS, find_shared

MANIFEST = "vid2world.json"  # world_model.folder.MANIFEST, read here without importing torch
STATE_PROBE = "state_probe"  # world_model.folder.STATE_PROBE
PROBE_CONFIG = "config.json"  # the probe's diffusers config: joint_names is the states it reads
OBJECT_STATES = ("object_x", "object_y", "object_yaw")  # world_model.state_probe.OBJECT_STATES
# The planner settings whose cost terms read the model folder's state probe.
PROBE_WEIGHTS = ("probe_weight", "object_weight", "reach_weight")
OBJECT_WEIGHTS = ("object_weight", "reach_weight")  # these read the object's pose off frames
# What each demo task's 2-D action commands.
ACTIONS = {"reacher": "the simulated reacher has 2 joints (shoulder, wrist velocities)",
           "push": "the simulated pusher takes 2 (x, y velocities)"}
ACTION_DIM = 2


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    action_dim: int
    image_size: tuple[int, int]
    max_frames: int


def probe_weights_set(planner) -> list[str]:
    """The weights of `planner` (a PlannerConfig) that are set and read the state probe."""
    return [name for name in PROBE_WEIGHTS if getattr(planner, name) > 0]


def default_model_path(task: str = "reacher") -> Path:
    """The shipped model of `task`, next to the package or installed in share/ros2_vid2world."""
    shipped = SHIPPED_MODELS[task]
    path = find_shared(shipped)
    if path is None:
        raise ValueError(
            f"no --model given and the shipped {shipped} was not found next to the package or in "
            "share/ros2_vid2world: train it (README, 'Training') or pass --model DIR."
        )
    return path


def check_model(
    path: Path,
    history_frames: int,
    horizon: int,
    probe_users: list[str] | tuple[str, ...] = (),
    task: str = "reacher",
) -> ModelInfo:
    """ValueError (one line) unless `path` is a world-model folder for the task's 2-D actions whose
    window holds history_frames + horizon frames, and which has the state probe the planner needs:
    `probe_users` are the planner settings that read one (`probe_weights_set`; none: no probe needed),
    and object_weight or reach_weight need one that reads the object's pose."""
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"--model {str(path)!r} does not exist or is not a folder.")
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ValueError(
            f"--model {str(path)!r} is not a world-model folder: no {MANIFEST} "
            "(create one with `vid2world train` or `vid2world causalize`)."
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"--model {str(path)!r}: {MANIFEST} cannot be read: {exc}") from None
    try:
        info = ModelInfo(
            path=path,
            action_dim=int(manifest["action_dim"]),
            image_size=tuple(int(v) for v in manifest["image_size"]),
            max_frames=int(manifest["max_frames"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"--model {str(path)!r}: {MANIFEST} lacks a valid {exc}.") from None
    if info.action_dim != ACTION_DIM:
        raise ValueError(
            f"--model {str(path)!r} takes actions of dimension {info.action_dim}, but {ACTIONS[task]}."
        )
    if history_frames + horizon > info.max_frames:
        raise ValueError(
            f"--model {str(path)!r} sees {info.max_frames} frames, fewer than planner.history_frames "
            f"({history_frames}) + planner.horizon ({horizon}) in the config."
        )
    if not probe_users:
        return info
    users = " and ".join(f"planner.{name}" for name in probe_users)
    if not (path / STATE_PROBE).is_dir():
        raise ValueError(
            f"--model {str(path)!r} has no {STATE_PROBE}/ but the config sets {users} > 0: "
            "train one with `vid2world probe --data DATASET --model MODEL`, or set the weight to 0."
        )
    if set(probe_users) & set(OBJECT_WEIGHTS):
        _check_probe_reads_the_object(path, users)
    return info


def _check_probe_reads_the_object(path: Path, users: str) -> None:
    config = path / STATE_PROBE / PROBE_CONFIG
    try:
        states = json.loads(config.read_text())["joint_names"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"--model {str(path)!r}: {config} cannot be read: {exc}") from None
    missing = [name for name in OBJECT_STATES if name not in states]
    if missing:
        raise ValueError(
            f"--model {str(path)!r}: its {STATE_PROBE} reads {list(states)}, but with {users} > 0 the "
            f"planner reads the object's pose {list(OBJECT_STATES)}: train the probe on a dataset with "
            "object poses (`vid2world dataset --object-pose-topic`), or set the weights to 0."
        )
