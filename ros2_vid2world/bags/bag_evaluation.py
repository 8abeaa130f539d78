"""`vid2world eval-bag` as a library call: a world-model folder and recorded episodes in, a report folder out.

Steps: load the model (its image size sets the frame size), read the episodes into memory at the model's
size, check the action dimension, run open-loop prediction and planner agreement, write the report.
The episodes come from bags (`evaluate_bag`: decoded as `vid2world dataset` would) or from a dataset
folder (`evaluate_dataset`: e.g. one imported from LeRobot). Everything that can be wrong with the
input is found before the model runs.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..image_messages import resize_rgb
from .bag_episodes import EpisodeOptions, decode_episodes, plan_bags
from .eval_report import summarise, write_report
from .open_loop_eval import OpenLoopConfig, evaluate_open_loop
from .planner_agreement import AgreementConfig, evaluate_planner_agreement


class EpisodeList:
    """An episode sink that keeps episodes in memory (the evaluation needs random access)."""

    def __init__(self):
        self.episodes: list[dict[str, np.ndarray]] = []

    def add_episode(self, frames, actions, joints=None, stamps=None, source: str = "") -> None:
        self.episodes.append({"frames": frames, "actions": np.asarray(actions, np.float32), "source": source})


@dataclasses.dataclass
class LoadedEpisodes:
    """Episodes at the model's size, and what the report says about where they came from."""

    episodes: list[dict[str, np.ndarray]]
    fps: float
    action_source: str
    inputs: dict  # {"bags": [...]} or {"dataset": "..."}


def evaluate_bag(
    bags: list[str | os.PathLike],
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    options: EpisodeOptions,
    open_loop: OpenLoopConfig,
    agreement: AgreementConfig | None = None,
    planner_starts: int = 8,
    action_bounds: tuple[list[float], list[float]] | None = None,
    progress: bool = False,
) -> dict:
    """Evaluate on recorded bags, write the report folder `out`, and return the summary
    (see eval_report.summarise)."""

    def load(image_size: tuple[int, int], action_dim: int) -> LoadedEpisodes:
        planned = plan_bags(bags, dataclasses.replace(options, size=image_size), progress)
        source = planned.action_source
        _check_action_dim(model_path, action_dim, planned.action_dim, f"the bag's actions ({source})")
        collected = EpisodeList()
        decode_episodes(planned, collected, progress)
        return LoadedEpisodes(collected.episodes, planned.fps, source, {"bags": [str(b) for b in bags]})

    return _evaluate(load, model_path, out, open_loop, agreement, planner_starts, action_bounds, progress)


def evaluate_dataset(
    dataset: str | os.PathLike,
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    open_loop: OpenLoopConfig,
    agreement: AgreementConfig | None = None,
    planner_starts: int = 8,
    action_bounds: tuple[list[float], list[float]] | None = None,
    progress: bool = False,
) -> dict:
    """Evaluate on the episodes of a dataset folder (frames resized to the model's), as `evaluate_bag`."""
    from ..dataset import EpisodeDataset

    def load(image_size: tuple[int, int], action_dim: int) -> LoadedEpisodes:
        data = EpisodeDataset(dataset)
        source = data.manifest.get("action_source") or "its actions"
        _check_action_dim(model_path, action_dim, data.action_dim, f"the dataset's actions ({source})")
        episodes = []
        for number, entry in enumerate(data.episodes):
            arrays = data.episode(number)
            frames = np.stack([resize_rgb(np.asarray(frame), image_size) for frame in arrays["frames"]])
            actions = np.array(arrays["actions"], np.float32)  # a copy: the planner writes into its inputs
            episodes.append({"frames": frames, "actions": actions, "source": entry["source"]})
        return LoadedEpisodes(episodes, float(data.manifest["fps"]), source, {"dataset": str(dataset)})

    return _evaluate(load, model_path, out, open_loop, agreement, planner_starts, action_bounds, progress)


def _evaluate(
    load: Callable[[tuple[int, int], int], LoadedEpisodes],
    model_path: str | os.PathLike,
    out: str | os.PathLike,
    open_loop: OpenLoopConfig,
    agreement: AgreementConfig | None,
    planner_starts: int,
    action_bounds: tuple[list[float], list[float]] | None,
    progress: bool,
) -> dict:
    """`load(image size, action dimension)`: the episodes at the model's size, their actions checked."""
    from ..world_model.folder import WorldModelFolder

    folder = WorldModelFolder.load(model_path)
    window = folder.model.config.max_frames
    open_loop = open_loop.for_window(window)
    if planner_starts and open_loop.context + open_loop.horizon > window:
        raise ValueError(
            f"--context {open_loop.context} + --horizon {open_loop.horizon} must fit the model's window of "
            f"{window} frames for planner agreement (or pass --planner-starts 0)."
        )
    loaded = load(folder.image_size, folder.model.config.action_dim)
    episodes = loaded.episodes
    result = evaluate_open_loop(folder, episodes, open_loop, progress=progress)

    agreement_result = None
    if planner_starts:
        chosen = np.unique(
            np.linspace(0, len(result.starts) - 1, min(planner_starts, len(result.starts))).round()
        )
        low, high = action_bounds or _recorded_bounds(episodes)
        agreement_result = evaluate_planner_agreement(
            folder,
            episodes,
            [result.starts[int(i)] for i in chosen],
            open_loop.context,
            open_loop.horizon,
            np.asarray(low, np.float64),
            np.asarray(high, np.float64),
            agreement or AgreementConfig(),
            progress,
        )
    summary = summarise(
        result,
        agreement_result,
        {
            "model": str(model_path),
            **loaded.inputs,
            "context": open_loop.context,
            "fps": loaded.fps,
            "image_size": list(folder.image_size),
            "episodes": len(episodes),
            "action_source": loaded.action_source,
            "denoise_steps": open_loop.denoise_steps,
            "guidance_scale": open_loop.guidance_scale,
            "seed": open_loop.seed,
        },
    )
    summary["out"] = str(write_report(Path(out), summary, result, agreement_result))
    return summary


def _check_action_dim(
    model_path: str | os.PathLike, model_dim: int, recorded_dim: int, recorded: str
) -> None:
    if recorded_dim != model_dim:
        raise ValueError(
            f"the model at {str(model_path)!r} takes actions of dimension {model_dim}, but {recorded} "
            f"have dimension {recorded_dim}."
        )


def _recorded_bounds(episodes: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The planner searches the range the recorded actions span (a little wider, never empty)."""
    actions = np.concatenate([e["actions"] for e in episodes]).astype(np.float64)
    low, high = actions.min(0), actions.max(0)
    margin = np.maximum(0.05 * (high - low), 1e-3)
    return low - margin, high + margin
