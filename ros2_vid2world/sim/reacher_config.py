"""The simulated robot's settings, declared once (sim_node's parameters are built from them).

`task` picks the simulated task: the reacher (easy, hard) or pushing (push, whose own settings are
`push_config.PushConfig`'s; the settings both tasks have are declared here and taken from here).
MuJoCo-free, so that a CLI or the README generator can read them without a renderer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import check_settings, setting
from .exploration import GOAL_SOURCES

REACHER_TASKS = ("easy", "hard")  # dm_control's reacher tasks: the target's size
PUSH_TASK = "push"  # a pusher and a T-shaped block on a table (sim/push_env.py)
TASKS = (*REACHER_TASKS, PUSH_TASK)
MAX_IMAGE_SIZE = 480  # MuJoCo's default offscreen framebuffer is 640 x 480


@dataclass
class ReacherConfig:
    """Settings of the simulated robot (see `reacher_env` for the reacher and its goal protocols; `task`
    push runs `push_env` with `PushConfig`, which takes the settings both tasks have from here)."""

    image_size: int = setting(64, "Camera image side.", unit="pixels", low=8, high=MAX_IMAGE_SIZE)
    control_period: float = setting(
        0.1, "Simulated time per control step (a multiple of the physics step: 0.02 s reacher, 0.01 s push).",
        unit="s", low=0.02, high=10.0,
    )
    max_joint_velocity: float = setting(
        3.0, "Reacher: joint speed of an action of magnitude 1 (the limit: faster commands are clipped).",
        unit="rad/s", above=0.0, high=100.0,
    )
    task: str = setting(
        "easy",
        "Simulated task: the dm_control reacher, whose task sets the target size (easy 0.05 m, hard "
        "0.015 m), or push (a pusher moves a T-shaped block to the pose of the goal image).",
        choices=TASKS,
    )
    seed: int = setting(0, "Seeds the sequence of episodes.", low=0, high=2**31 - 1)
    tracking_gain: float = setting(
        1.0, "Reacher: fraction of the velocity error the joint servo removes per physics step.", above=0.0,
        high=1.0,
    )
    goal_source: str = setting(
        "random",
        "How goals are drawn: random (any pose) or exploration (where the data-collection policy takes "
        "the arm, or the block, from the start in goal_steps steps: DINO-WM's protocol).",
        choices=GOAL_SOURCES,
    )
    goal_steps: int = setting(
        25, "Control steps of exploration behind a goal (goal_source exploration).", low=1, high=10000
    )

    def __post_init__(self):
        check_settings(self)
