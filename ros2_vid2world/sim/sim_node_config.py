"""sim_node's own settings (the robot's are `ReacherConfig`'s and, for task push, `PushConfig`'s): declared
once, parameters built from them."""

from __future__ import annotations

from dataclasses import dataclass

from ..settings import Declared, check_settings, declared_settings, setting
from . import topics
from .push_config import PushConfig
from .reacher_config import ReacherConfig

MODES = ("lockstep", "realtime")


@dataclass(frozen=True)
class SimNodeConfig:
    """How the node runs the simulated robot and where it talks."""

    mode: str = setting(
        "lockstep",
        "lockstep: one control step per command received (planning costs no simulated time; stamps and "
        "/clock in sim time); realtime: the physics runs on a wall-clock timer with whatever command is "
        "in force, the camera streams every control period, stamps are the node clock's (no /clock).",
        choices=MODES,
    )
    episode_seed: int = setting(
        -1,
        "Seed of every episode ~/reset_episode starts (-1: the next of `seed`'s sequence). Dynamic, so a "
        "caller can replay a given start and goal: set it, then call ~/reset_episode.",
        low=-1, high=2**31 - 1, dynamic=True,
    )
    max_steps: int = setting(
        0, "Control steps per episode (0 = no limit); then commands are ignored.", low=0, high=2**31 - 1
    )
    max_motion_steps: int = setting(
        0,
        "realtime: an episode is over after this many control periods of commanded motion (a non-zero "
        "command in force), so a slow planner gets the same motion budget as a lockstep run (0 = no limit).",
        low=0, high=2**31 - 1,
    )
    end_on_success: bool = setting(
        False,
        "End an episode at its first success: later commands are ignored until ~/reset_episode, as "
        "after max_steps (an evaluation then sees exactly one decision per observation).",
    )
    auto_reset: bool = setting(False, "Start the next episode by itself when an episode is over.")
    command_topic: str = setting(
        topics.COMMAND_TOPIC, "Joint velocities in (std_msgs/Float64MultiArray: rad/s, the pusher's m/s)."
    )
    goal_image_topic: str = setting(
        topics.GOAL_IMAGE_TOPIC, "The goal image out (reliable, transient local)."
    )
    goal_joints_topic: str = setting("~/goal_joint_states", "Goal joint positions out (transient local).")

    def __post_init__(self):
        check_settings(self)


def sim_parameters() -> list[tuple[str, Declared]]:
    """(parameter name, declaration) of every sim_node parameter: the robot's (the reacher's, then the
    pushing task's own: it takes the others from the reacher's), then the node's."""
    declared: dict[str, Declared] = {}
    for cls in (ReacherConfig, PushConfig, SimNodeConfig):
        for d in declared_settings(cls):
            declared.setdefault(d.name, d)
    return list(declared.items())
