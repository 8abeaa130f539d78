"""Planner agreement on recorded episodes: with the recorded frame H steps ahead as the goal, how close
is the planner's first action to the action that was recorded?

The baseline is the mean recorded action (what a planner with no information would best answer in
the L2 sense); a planner worth running beats it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from ..planning.planner_config import PlannerConfig
from ..planning.visual_planner import VisualPlanner
from ..settings import check_settings, defaults, same_rules_as, setting
from ..world_model.folder import WorldModelFolder


@dataclass(frozen=True)
class AgreementConfig:
    """The planner's search for this evaluation: one decision per start, so smaller than a robot's."""

    population: int = same_rules_as(PlannerConfig, "population", 32)
    elites: int = same_rules_as(PlannerConfig, "elites", 4)
    iterations: int = same_rules_as(PlannerConfig, "iterations", 2)
    denoise_steps: int = same_rules_as(PlannerConfig, "denoise_steps", 3)
    guidance_scale: float = same_rules_as(PlannerConfig, "guidance_scale", 2.5)
    method: str = same_rules_as(PlannerConfig, "method", defaults(PlannerConfig)["method"])
    seed: int = setting(0, "Seed of the planning noise.", low=0)

    def __post_init__(self):
        check_settings(self)
        # elites <= population (and icem's population floor), refused (never clamped)
        self.planner_config(horizon=1, context=1)

    def planner_config(self, horizon: int, context: int) -> PlannerConfig:
        return PlannerConfig(
            population=self.population,
            elites=self.elites,
            iterations=self.iterations,
            horizon=horizon,
            denoise_steps=self.denoise_steps,
            guidance_scale=self.guidance_scale,
            method=self.method,
            history_frames=context,
            seed=self.seed,
        )


@dataclass
class AgreementResult:
    """planned and recorded: [S, A] first actions; error: [S] L2 distance between them;
    baseline_error: [S] L2 distance of the mean recorded action; cosine: [S] (nan for a zero action);
    method: the planner's search method; evaluations: candidates it scored per decision."""

    starts: list[tuple[int, int]]
    planned: np.ndarray
    recorded: np.ndarray
    error: np.ndarray
    baseline_error: np.ndarray
    cosine: np.ndarray
    method: str = "cem"
    evaluations: int = 0

    def summary(self) -> dict:
        return {
            "starts": len(self.starts),
            "method": self.method,
            "evaluations_per_decision": self.evaluations,
            "first_action_l2_error": float(self.error.mean()),
            "mean_action_l2_error": float(self.baseline_error.mean()),
            "per_dim_abs_error": np.abs(self.planned - self.recorded).mean(0).tolist(),
            "cosine_similarity": float(np.nanmean(self.cosine)) if np.isfinite(self.cosine).any() else None,
        }


def evaluate_planner_agreement(
    folder: WorldModelFolder,
    episodes: list[dict[str, np.ndarray]],
    starts: list[tuple[int, int]],
    context: int,
    horizon: int,
    low: np.ndarray,
    high: np.ndarray,
    config: AgreementConfig,
    progress: bool = False,
) -> AgreementResult:
    """starts: (episode, t) with t the newest observed frame and frame t + horizon the goal."""
    planner_config = config.planner_config(horizon, context)
    planner = VisualPlanner(folder, planner_config, low=low.tolist(), high=high.tolist())
    planned, recorded = [], []
    for episode, t in tqdm(starts, desc="planner", unit="plan", disable=not progress, leave=False):
        frames, actions = episodes[episode]["frames"], episodes[episode]["actions"]
        planner.reset()
        planner.set_goal(np.ascontiguousarray(frames[t + horizon]))
        for i in range(t - context + 1, t + 1):
            executed = None if i == t - context + 1 else actions[i - 1]
            planner.observe(np.ascontiguousarray(frames[i]), executed)
        planned.append(planner.plan().action)
        recorded.append(actions[t])
    planned_a, recorded_a = np.asarray(planned), np.asarray(recorded, dtype=np.float64)
    all_actions = np.concatenate([e["actions"][:-1] for e in episodes]).astype(np.float64)
    norms = np.linalg.norm(planned_a, axis=1) * np.linalg.norm(recorded_a, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = np.where(norms > 0, (planned_a * recorded_a).sum(1) / norms, np.nan)
    return AgreementResult(
        starts=list(starts),
        planned=planned_a,
        recorded=recorded_a,
        error=np.linalg.norm(planned_a - recorded_a, axis=1),
        baseline_error=np.linalg.norm(all_actions.mean(0) - recorded_a, axis=1),
        cosine=cosine,
        method=planner_config.method,
        evaluations=sum(planner_config.populations()),
    )
