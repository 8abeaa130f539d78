"""Is a world-model folder usable for the demo? Checked from its manifest, before any process starts.

The planner node would find the same problems, but only after seconds of start-up and in its own log;
here they become one error line (exit code 2) naming the folder and what is wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .demo_settings import find_shared

SHIPPED_MODEL = "models/reacher"
MANIFEST = "vid2world.json"  # world_model.folder.MANIFEST, read here without importing torch
STATE_PROBE = "state_probe"  # world_model.folder.STATE_PROBE
REACHER_ACTION_DIM = 2  # shoulder and wrist velocities


@dataclass(frozen=True)
class ModelInfo:
    path: Path
    action_dim: int
    image_size: tuple[int, int]
    max_frames: int


def default_model_path() -> Path:
    """The shipped reacher model, next to the package or installed in share/ros2_vid2world."""
    path = find_shared(SHIPPED_MODEL)
    if path is None:
        raise ValueError(
            f"no --model given and the shipped {SHIPPED_MODEL} was not found next to the package or in "
            "share/ros2_vid2world: train it (README, 'Training') or pass --model DIR."
        )
    return path


def check_model(path: Path, history_frames: int, horizon: int, needs_state_probe: bool = False) -> ModelInfo:
    """ValueError (one line) unless `path` is a world-model folder for the reacher's 2-D actions whose
    window holds history_frames + horizon frames (and which has a state probe, if the planner needs one)."""
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
    if info.action_dim != REACHER_ACTION_DIM:
        raise ValueError(
            f"--model {str(path)!r} takes actions of dimension {info.action_dim}, but the simulated "
            f"reacher has {REACHER_ACTION_DIM} joints (shoulder, wrist velocities)."
        )
    if history_frames + horizon > info.max_frames:
        raise ValueError(
            f"--model {str(path)!r} sees {info.max_frames} frames, fewer than planner.history_frames "
            f"({history_frames}) + planner.horizon ({horizon}) in the config."
        )
    if needs_state_probe and not (path / STATE_PROBE).is_dir():
        raise ValueError(
            f"--model {str(path)!r} has no {STATE_PROBE}/ but the config sets planner.probe_weight > 0: "
            "train one with `vid2world probe --data DATASET --model MODEL`, or set the weight to 0."
        )
    return info
