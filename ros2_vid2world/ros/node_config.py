"""The planner node's settings, declared once: its own (`NodeConfig`) and the planner's (`planner.*`).

rclpy-free: `parameters.py` turns these declarations into ROS parameters with descriptors, and the
README table and config/vid2world.yaml are generated from them (`settings_reference.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..choices import BACKENDS, DEVICES, ONNX_PRECISIONS, PRECISIONS
from ..planning.planner_config import PlannerConfig
from ..settings import Declared, check_settings, declared_settings, from_values, prefixed, setting

COMMAND_TYPES = ("float64_multi_array", "joint_trajectory")
EXECUTIONS = ("hold_while_planning", "continuous")
HOLD_MODES = ("zero", "current_position")
IMAGE_TRANSPORTS = ("raw", "compressed")
GOAL_DURABILITIES = ("volatile", "transient_local")
PLANNER_PREFIX = "planner."


@dataclass(frozen=True)
class NodeConfig:
    """The planner node's own settings; `planner` holds the `planner.*` ones.

    Static settings are read once at configure (change them in the params file and restart);
    dynamic ones may be set while the node runs and apply between two decisions.
    """

    model_path: str = setting(
        "", "World-model folder (vid2world.json, world_model/, scheduler/).", required=True
    )
    image_topic: str = setting("/camera/image_raw", "Camera topic (sensor_msgs/Image, sensor-data QoS).")
    image_transport: str = setting(
        "raw",
        "raw: sensor_msgs/Image on image_topic; compressed: sensor_msgs/CompressedImage on "
        "<image_topic>/compressed.",
        choices=IMAGE_TRANSPORTS,
    )
    joint_states_topic: str = setting(
        "/joint_states", "Joint feedback (sensor_msgs/JointState), reordered by name into joint_names."
    )
    goal_image_topic: str = setting(
        "~/goal_image", "Goal image (sensor_msgs/Image, reliable); ~ is the node's own namespace."
    )
    goal_durability: str = setting(
        "volatile",
        "QoS durability of the goal subscriptions: volatile connects to every reliable publisher; "
        "transient_local also gets the current goal from a latched publisher that started earlier, "
        "but never connects to a volatile one.",
        choices=GOAL_DURABILITIES,
    )
    goal_joints_topic: str = setting(
        "", "Optional goal joint positions (sensor_msgs/JointState, by name); empty = not subscribed."
    )
    command_topic: str = setting(
        "/forward_command_controller/commands",
        "Where commands go: /<controller>/commands (forward_command_controller) or "
        "/<controller>/joint_trajectory (joint_trajectory_controller).",
    )
    command_type: str = setting(
        "float64_multi_array",
        "float64_multi_array (std_msgs/Float64MultiArray: the action to execute now) or joint_trajectory "
        "(trajectory_msgs/JointTrajectory: the planned horizon).",
        choices=COMMAND_TYPES,
    )
    joint_names: tuple[str, ...] = setting(
        (),
        "Joints the action commands, in action order (as many as the model's action dimension); "
        "JointState is reordered by these names.",
        required=True,
    )
    action_low: tuple[float, ...] = setting(
        (-1.0,), "Lower action bound, in the model's action units: one value for all joints or one per joint."
    )
    action_high: tuple[float, ...] = setting(
        (1.0,), "Upper action bound, in the model's action units: one value for all joints or one per joint."
    )
    control_rate: float = setting(
        2.0,
        "Decisions per second, at most one per new camera frame; 0 = once per new camera frame.",
        unit="Hz", low=0.0, high=1000.0,
    )
    execution: str = setting(
        "hold_while_planning",
        "hold_while_planning: hold during each decision (made on a frame taken after the last plan ran), "
        "then play execute_steps actions; continuous: decide while the current plan plays, imagining "
        "the actions that will run meanwhile first, so the new plan starts where the robot will be.",
        choices=EXECUTIONS,
    )
    execute_steps: int = setting(
        1, "hold_while_planning: actions of each plan played before the next decision.", low=1
    )
    command_timeout: float = setting(
        1.0,
        "A hold goes out when no plan has come for this long, even if the current one has steps left "
        "(a plan's own end always sends one).",
        unit="s", above=0.0, high=3600.0, dynamic=True,
    )
    joint_position_lower: tuple[float, ...] = setting(
        (),
        "Optional lower joint position limits, one per joint (empty = none): a velocity that would cross "
        "a limit within one control period is scaled to stop at it; position targets are clipped.",
    )
    joint_position_upper: tuple[float, ...] = setting(
        (), "Optional upper joint position limits, one per joint (empty = none); see joint_position_lower."
    )
    max_action_change: tuple[float, ...] = setting(
        (),
        "Optional largest change of an action from one control period to the next: one value for all "
        "joints or one per joint (empty = none), in the action's units.",
    )
    stall_decisions: int = setting(
        0, "Report a stall in /diagnostics after this many decisions without a better cost (0 = off).", low=0
    )
    max_input_age: float = setting(
        0.5,
        "Age after which the newest image or joint state counts as stale (one hold, then silence).",
        unit="s", low=0.01, high=3600.0, dynamic=True,
    )
    hold_mode: str = setting(
        "zero",
        "Hold command: zero (velocity and effort interfaces) or current_position (position interfaces).",
        choices=HOLD_MODES,
    )
    autostart: bool = setting(
        False, "Configure and activate without a lifecycle manager (the pip path has none)."
    )
    device: str = setting("auto", "Torch device: auto (cuda when available), cpu or cuda.", choices=DEVICES)
    backend: str = setting(
        "torch", "Inference backend: torch, or onnxruntime (the denoiser runs in ONNX Runtime).",
        choices=BACKENDS,
    )
    precision: str = setting(
        "fp32",
        "backend torch: fp32; fp16 (CUDA only); bf16 (autocast; fast on CPUs with AMX/AVX-512 BF16). "
        "backend onnxruntime: fp32, or int8 (onnx_model: a file from `vid2world export-onnx --int8`).",
        choices=tuple(dict.fromkeys(PRECISIONS + ONNX_PRECISIONS)),
    )
    onnx_model: str = setting(
        "",
        "backend onnxruntime: a file from `vid2world export-onnx` (of the precision set); empty = export "
        "the model at configure (fp32).",
    )
    num_threads: int = setting(
        0,
        "Torch CPU threads; 0 = torch's default. 1 avoids oversubscription on small shared CPUs.",
        low=0, high=256,
    )
    imagined_period: float = setting(
        1.0,
        "Time between ~/imagined images (only decoded while someone subscribes); 0 = never.",
        unit="s", low=0.0, high=3600.0, dynamic=True,
    )
    planner: PlannerConfig = field(default_factory=PlannerConfig)

    def __post_init__(self):
        check_settings(self)
        lower, upper = self.joint_position_lower, self.joint_position_upper
        if bool(lower) != bool(upper) or len(lower) != len(upper):
            raise ValueError(
                "`joint_position_lower` and `joint_position_upper` must both be empty or have one value per "
                f"joint. Got {len(lower)} and {len(upper)} values."
            )
        if any(lo > hi for lo, hi in zip(lower, upper, strict=True)):
            raise ValueError(
                "`joint_position_lower` must be <= `joint_position_upper`. "
                f"Got {list(lower)} and {list(upper)}."
            )
        if any(change <= 0 for change in self.max_action_change):
            raise ValueError(f"`max_action_change` must be > 0. Got {list(self.max_action_change)}.")
        if self.precision == "int8" and (self.backend != "onnxruntime" or not self.onnx_model):
            raise ValueError(
                "`precision` 'int8' needs `backend` onnxruntime and `onnx_model` set to a file from "
                f"`vid2world export-onnx --int8`. Got backend {self.backend!r}, onnx_model "
                f"{self.onnx_model!r}."
            )
        if self.backend == "onnxruntime" and self.planner.rollout == "joint":
            raise ValueError(
                "`planner.rollout` 'joint' needs the torch backend: the ONNX denoiser takes one frame a call."
            )

    def bounds(self, action_dim: int) -> tuple[list[float], list[float]]:
        """(low, high) with action_dim values each; ValueError when the lengths do not fit."""
        result = []
        for name, values in (("action_low", self.action_low), ("action_high", self.action_high)):
            if len(values) not in (1, action_dim):
                raise ValueError(
                    f"`{name}` must have 1 or action_dim={action_dim} values. "
                    f"Got {len(values)}: {list(values)}."
                )
            result.append([float(v) for v in values] * (action_dim if len(values) == 1 else 1))
        low, high = result
        if any(lo > hi for lo, hi in zip(low, high, strict=True)):
            raise ValueError(f"`action_low` must be <= `action_high`. Got {low} and {high}.")
        return low, high

    def limits(self, joints: int) -> tuple[list[float], list[float]] | None:
        """(lower, upper) joint position limits for `joints` joints, or None; ValueError on a mismatch."""
        if not self.joint_position_lower:
            return None
        if len(self.joint_position_lower) != joints:
            raise ValueError(
                "`joint_position_lower` and `joint_position_upper` must have one value per joint "
                f"({joints}). Got {len(self.joint_position_lower)}."
            )
        return list(self.joint_position_lower), list(self.joint_position_upper)

    def action_change(self, joints: int) -> list[float] | None:
        """The largest action change per control period for each joint, or None."""
        values = self.max_action_change
        if not values:
            return None
        if len(values) not in (1, joints):
            raise ValueError(f"`max_action_change` must have 1 or {joints} values. Got {len(values)}.")
        return list(values) * (joints if len(values) == 1 else 1)

    def check_expressible(self, action_space: str) -> None:
        """ValueError unless this node's commands can carry the model's actions: a forward_command_controller
        takes one interface, named here by hold_mode (zero: velocity, current_position: position)."""
        if self.command_type != "float64_multi_array":
            return
        needed = "zero" if action_space == "joint_velocity" else "current_position"
        if self.hold_mode != needed:
            interface = "velocity" if needed == "zero" else "position"
            raise ValueError(
                f"the model's actions are {action_space}: command_type float64_multi_array sends them to a "
                f"controller on {interface} interfaces, so `hold_mode` must be {needed!r}. Got "
                f"{self.hold_mode!r} (or use command_type joint_trajectory)."
            )


def node_parameters() -> list[tuple[str, Declared]]:
    """(parameter name, declaration) of every parameter of the planner node, in declaration order."""
    own = [(d.name, d) for d in declared_settings(NodeConfig) if d.rule.parameter]
    planner = [(PLANNER_PREFIX + d.name, d) for d in declared_settings(PlannerConfig) if d.rule.parameter]
    return own + planner


def planner_values(values: dict[str, Any]) -> dict[str, Any]:
    """{'planner.population': 8, 'max_input_age': 1.0} -> {'population': 8}."""
    prefix = len(PLANNER_PREFIX)
    return {name[prefix:]: value for name, value in values.items() if name.startswith(PLANNER_PREFIX)}


def node_config(values: dict[str, Any]) -> NodeConfig:
    """A NodeConfig from parameter values by name ('planner.population', 'max_input_age', ...); values
    that are None (never set) keep their default. ValueError names the first bad parameter."""
    given = {name: value for name, value in values.items() if value is not None}
    planner = from_values(PlannerConfig, given, PLANNER_PREFIX)
    return from_values(NodeConfig, given, planner=planner)


def read_settings(values: dict[str, Any]) -> NodeConfig:
    """The settings on_configure depends on, checked: ValueError names the first bad one."""
    config = node_config(values)
    if not config.model_path:
        raise ValueError("`model_path` is empty: set it to a world-model folder.")
    if not Path(config.model_path).is_dir():
        raise ValueError(f"`model_path` {config.model_path!r} does not exist or is not a folder.")
    if not config.joint_names:
        raise ValueError("`joint_names` is not set: list the joints the action commands, in order.")
    return config


def validate_changes(changes: dict[str, Any], current: dict[str, Any], window: int | None) -> None:
    """For the set-parameters callback: ValueError naming the first change that cannot apply.

    current: every parameter's value now; window: the loaded model's frame window (None if unconfigured).
    The changed values are checked with everything else as it is, by the same declarations and rules
    that configure uses.
    """
    config = node_config(current | changes)
    if window is not None and planner_values(changes):
        try:
            config.planner.check_window(window)
        except ValueError as exc:
            raise ValueError(prefixed(str(exc), PlannerConfig, PLANNER_PREFIX)) from None
