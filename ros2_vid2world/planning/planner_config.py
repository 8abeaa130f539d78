"""Everything a decision depends on besides the model: the planner's settings, declared once.

Torch-free: the ROS node builds its `planner.*` parameters from these fields and validates changes
with them before anything loads a model. The CEM and sampler settings among them take their rules
from `CEMConfig` and `SamplerConfig`, which enforce them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..choices import GOAL_MODES, JOINT_ACTION_KINDS, REACH_SOURCES
from ..settings import check_settings, defaults, same_rules_as, setting
from ..world_model.sampler_config import SamplerConfig
from .cem_config import CEMConfig


def _search_setting(name: str):
    """The optimiser's own setting as a dynamic planner setting: its rule and its default."""
    return same_rules_as(CEMConfig, name, defaults(CEMConfig)[name], dynamic=True)


@dataclass
class PlannerConfig:
    """The settings of `VisualPlanner` (and of the demo's oracle, which plans the same way).

    Every field is a `planner.<name>` parameter of the planner node (dynamic: applied between two
    decisions) except `seed`. Validated on construction; `check_window` adds the model's window.
    """

    population: int = same_rules_as(CEMConfig, "population", 64, dynamic=True)
    elites: int = same_rules_as(CEMConfig, "elites", 8, dynamic=True)
    iterations: int = same_rules_as(CEMConfig, "iterations", 3, dynamic=True)
    horizon: int = same_rules_as(CEMConfig, "horizon", 4, dynamic=True)
    action_repeat: int = setting(
        1, "Model steps each decision step is held for; the model imagines horizon x action_repeat frames.",
        low=1, dynamic=True,
    )
    denoise_steps: int = same_rules_as(SamplerConfig, "num_inference_steps", 3, dynamic=True)
    guidance_scale: float = same_rules_as(SamplerConfig, "guidance_scale", 2.5, dynamic=True)
    guidance_rescale: float = same_rules_as(SamplerConfig, "guidance_rescale", 0.0, dynamic=True)
    history_timestep: int = same_rules_as(SamplerConfig, "history_timestep", 20, dynamic=True)
    history_frames: int = setting(
        4,
        "Camera frames kept as context (history_frames + horizon x action_repeat must fit the model's "
        "window).",
        unit="frames", low=1, dynamic=True,
    )
    rollout: str = same_rules_as(SamplerConfig, "rollout", "autoregressive", dynamic=True)
    momentum: float = same_rules_as(CEMConfig, "momentum", 0.1, dynamic=True)
    init_std: float = same_rules_as(CEMConfig, "init_std", 1.0, dynamic=True)
    min_std: float = same_rules_as(CEMConfig, "min_std", 0.05, dynamic=True)
    method: str = _search_setting("method")
    icem_beta: float = _search_setting("icem_beta")
    icem_keep_elites: float = _search_setting("icem_keep_elites")
    icem_population_decay: float = _search_setting("icem_population_decay")
    icem_min_population: int = _search_setting("icem_min_population")
    mppi_temperature: float = _search_setting("mppi_temperature")
    goal_weight: float = setting(
        1.0, "Weight of the image goal cost (distance between the imagined and the goal frame).",
        low=0.0, dynamic=True,
    )
    goal_mode: str = setting(
        "final",
        "Which imagined frames the image goal cost scores: final (the last) or discounted (all, the "
        "later ones weighted more by goal_discount).",
        choices=GOAL_MODES, dynamic=True,
    )
    goal_discount: float = setting(
        0.9, "goal_mode discounted: weight ratio of each imagined frame to the next.",
        above=0.0, high=1.0, dynamic=True,
    )
    goal_blur: float = setting(
        0.0,
        "Gaussian blur (std) of imagined and goal frames before their distance; 0 = none. Helps thin "
        "objects such as arm links.",
        unit="pixels of the model's input image", low=0.0, dynamic=True,
    )
    action_weight: float = setting(0.0, "Weight of the action magnitude cost.", low=0.0, dynamic=True)
    smoothness_weight: float = setting(
        0.0, "Weight of the cost on changes between consecutive actions.", low=0.0, dynamic=True
    )
    joint_goal_weight: float = setting(
        0.0, "Weight of the cost on the distance to the goal joint positions (goal_joints_topic).",
        low=0.0, dynamic=True,
    )
    joint_action_kind: str = setting(
        "delta",
        "How the joint goal cost predicts joints from actions: delta (joints + sum of actions) or "
        "absolute (the last action is the joint target).",
        choices=JOINT_ACTION_KINDS, dynamic=True,
    )
    probe_weight: float = setting(
        0.0,
        "Weight of the joint-space goal cost: the joints the model folder's state probe "
        "(`vid2world probe`) reads off the goal image and off each plan's last imagined frame; 0 = off.",
        low=0.0, dynamic=True,
    )
    object_weight: float = setting(
        0.0,
        "Weight of the object goal cost: how far the object's position and yaw, as the state probe reads "
        "them off each plan's last imagined frame, are from the goal image's (m^2; yaw counted at "
        "object_yaw_radius). Needs a probe trained on a dataset with object poses; 0 = off.",
        low=0.0, dynamic=True,
    )
    object_yaw_radius: float = setting(
        0.0573,
        "The object goal cost counts a turn as the distance a point this far from the object's centre "
        "moves (default: 2 cm per 20 degrees, the push task's tolerances).",
        unit="m", above=0.0, dynamic=True,
    )
    reach_weight: float = setting(
        0.0,
        "Weight of the squared distance between the pusher (the probe's two sliding joints) and the "
        "object, both read off each plan's last imagined frame (m^2): draws the pusher to the object; "
        "0 = off.",
        low=0.0, dynamic=True,
    )
    reach_offset: float = setting(
        0.0,
        "The reach term draws the pusher to a point this far behind the object, on the side away from the "
        "goal, where a push moves the object towards the goal (within 1 mm of the goal it slides to the "
        "centre); 0 = the object's centre.",
        unit="m", low=0.0, dynamic=True,
    )
    reach_source: str = setting(
        "imagined",
        "Where the reach term's pusher position comes from: imagined (the probe's reading of the plan's "
        "last imagined frame) or joints (the current joint positions plus the plan's velocity commands "
        "times the control period: the robot's own kinematics, for velocity-commanded sliding joints; "
        "the object is still read off the imagined frame).",
        choices=REACH_SOURCES, dynamic=True,
    )
    goal_tolerance: float = setting(
        0.0,
        "Goal reached when the newest camera frame is this close to the goal image: in the state probe's "
        "joint distance (about rad^2 summed over joints) when the model folder has a probe, else in the "
        "image cost; the node then holds and stops commanding. 0 = never.",
        low=0.0, dynamic=True,
    )
    seed: int | None = same_rules_as(CEMConfig, "seed", 0)

    def __post_init__(self):
        check_settings(self)
        self.cem_config(action_dim=1, low=-1.0, high=1.0)  # the rules between CEM settings

    def sampler_config(self) -> SamplerConfig:
        return SamplerConfig(
            num_inference_steps=self.denoise_steps,
            guidance_scale=self.guidance_scale,
            guidance_rescale=self.guidance_rescale,
            history_timestep=self.history_timestep,
            rollout=self.rollout,
        )

    def cem_config(
        self, action_dim: int, low: float | Sequence[float], high: float | Sequence[float]
    ) -> CEMConfig:
        """The optimiser's settings for actions of `action_dim` within [low, high]."""
        return CEMConfig(
            action_dim=action_dim,
            horizon=self.horizon,
            population=self.population,
            elites=self.elites,
            iterations=self.iterations,
            low=low,
            high=high,
            momentum=self.momentum,
            init_std=self.init_std,
            min_std=self.min_std,
            seed=self.seed,
            method=self.method,
            icem_beta=self.icem_beta,
            icem_keep_elites=self.icem_keep_elites,
            icem_population_decay=self.icem_population_decay,
            icem_min_population=self.icem_min_population,
            mppi_temperature=self.mppi_temperature,
        )

    def populations(self) -> list[int]:
        """Candidates scored at each iteration of a decision (see `CEMConfig.populations`); each is
        imagined for `model_steps` frames."""
        return self.cem_config(action_dim=1, low=-1.0, high=1.0).populations()

    @property
    def model_steps(self) -> int:
        """Frames imagined per candidate: horizon x action_repeat."""
        return self.horizon * self.action_repeat

    def check_window(self, window: int) -> None:
        """ValueError unless history and imagined frames fit a model that sees `window` frames."""
        if self.history_frames + self.model_steps > window:
            raise ValueError(
                f"`history_frames` ({self.history_frames}) + `horizon` x `action_repeat` "
                f"({self.model_steps}) must fit the model's window of {window} frames."
            )
