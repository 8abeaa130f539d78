"""The pushing task's settings, declared once; the settings it shares with the reacher are the reacher's.

MuJoCo-free, so that a CLI or the README generator can read them without a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import check_settings, same_rules_as, setting
from .reacher_config import ReacherConfig


def _shared(name: str):
    """ReacherConfig's setting `name`: its rule and its default, declared there once."""
    return same_rules_as(ReacherConfig, name, getattr(ReacherConfig, name))


@dataclass
class PushConfig:
    """Settings of the simulated pushing task (see `push_env` for the scene, its goals and success)."""

    image_size: int = _shared("image_size")
    control_period: float = _shared("control_period")
    seed: int = _shared("seed")
    goal_source: str = _shared("goal_source")
    goal_steps: int = _shared("goal_steps")
    max_pusher_speed: float = setting(
        0.3, "Push: pusher speed along each axis of an action of magnitude 1 (faster commands are clipped).",
        unit="m/s", above=0.0, high=2.0,
    )
    position_tolerance: float = setting(
        0.02, "Push: success when the block's centre is this close to the goal's (and its angle is too).",
        unit="m", above=0.0, high=0.5,
    )
    angle_tolerance: float = setting(
        20.0, "Push: success when the block's yaw is this close to the goal's (and its position is too).",
        unit="deg", above=0.0, high=180.0,
    )

    def __post_init__(self):
        check_settings(self)
