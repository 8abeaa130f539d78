"""`vid2world eval-bag` as a library call: a world-model folder and recorded bags in, a report folder out.

Steps: load the model (its image size sets the frame size), read the bags into episodes in memory at
the model's size, check the action dimension, run open-loop prediction and planner agreement, write the
report. Everything that can be wrong with the input is found before the model runs.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

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
    """Evaluate, write the report folder `out`, and return the summary (see eval_report.summarise)."""
    from ..world_model.folder import WorldModelFolder

    folder = WorldModelFolder.load(model_path)
    action_dim = folder.model.config.action_dim
    window = folder.model.config.max_frames
    open_loop = open_loop.for_window(window)
    if planner_starts and open_loop.context + open_loop.horizon > window:
        raise ValueError(
            f"--context {open_loop.context} + --horizon {open_loop.horizon} must fit the model's window of "
            f"{window} frames for planner agreement (or pass --planner-starts 0)."
        )
    planned = plan_bags(bags, dataclasses.replace(options, size=folder.image_size), progress)
    if planned.action_dim != action_dim:
        raise ValueError(
            f"the model at {str(model_path)!r} takes actions of dimension {action_dim}, but the bag's "
            f"actions ({planned.action_source}) have dimension {planned.action_dim}."
        )
    collected = EpisodeList()
    decode_episodes(planned, collected, progress)
    episodes = collected.episodes
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
            "bags": [str(b) for b in bags],
            "context": open_loop.context,
            "fps": planned.fps,
            "image_size": list(folder.image_size),
            "episodes": len(episodes),
            "action_source": planned.action_source,
            "denoise_steps": open_loop.denoise_steps,
            "guidance_scale": open_loop.guidance_scale,
            "seed": open_loop.seed,
        },
    )
    summary["out"] = str(write_report(Path(out), summary, result, agreement_result))
    return summary


def _recorded_bounds(episodes: list[dict[str, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The planner searches the range the recorded actions span (a little wider, never empty)."""
    actions = np.concatenate([e["actions"] for e in episodes]).astype(np.float64)
    low, high = actions.min(0), actions.max(0)
    margin = np.maximum(0.05 * (high - low), 1e-3)
    return low - margin, high + margin
