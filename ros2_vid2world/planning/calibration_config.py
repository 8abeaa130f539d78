"""The int8 calibration's settings, torch-free so that the CLI can build its options and validate them
before anything loads (see `planning.onnx_calibration`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import check_settings, defaults, same_rules_as, setting
from ..world_model.sampler_config import SamplerConfig
from .planner_config import PlannerConfig

PLANNER = defaults(PlannerConfig)


@dataclass(frozen=True)
class CalibrationConfig:
    """Which clips the int8 ranges are calibrated on, and how they are imagined (the planner's defaults)."""

    clips: int = setting(16, "Dataset clips imagined for calibration.", low=1)
    candidates: int = setting(
        4,
        "Action sequences imagined per clip: the recorded one and others drawn uniformly within the "
        "dataset's action range.",
        low=1,
    )
    history_frames: int = same_rules_as(PlannerConfig, "history_frames", PLANNER["history_frames"])
    horizon: int = same_rules_as(PlannerConfig, "horizon", PLANNER["horizon"], "Imagined frames per clip.")
    denoise_steps: int = same_rules_as(PlannerConfig, "denoise_steps", PLANNER["denoise_steps"])
    guidance_scale: float = same_rules_as(PlannerConfig, "guidance_scale", PLANNER["guidance_scale"])
    seed: int = setting(0, "Seed of the clip choice, the drawn candidates and the imagination noise.", low=0)

    def __post_init__(self):
        check_settings(self)

    @property
    def clip_length(self) -> int:
        return self.history_frames + self.horizon

    def sampler_config(self) -> SamplerConfig:
        """The planner's sampler with these steps and guidance (its other settings at their defaults)."""
        planner = PlannerConfig(denoise_steps=self.denoise_steps, guidance_scale=self.guidance_scale)
        return planner.sampler_config()
