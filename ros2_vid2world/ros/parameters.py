"""The planner node's parameters: declarations with descriptors, and the settings read at configure.

Static parameters are read once in on_configure and are read-only (change them in the params file and
restart). Dynamic ones (`max_input_age`, `imagined_period`, `planner.*`) can be set at runtime: the
set-parameters callback validates them, and the planning worker applies them between decisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter

COMMAND_TYPES = ("float64_multi_array", "joint_trajectory")
HOLD_MODES = ("zero", "current_position")
IMAGE_TRANSPORTS = ("raw", "compressed")
GOAL_DURABILITIES = ("volatile", "transient_local")
DEVICES = ("auto", "cpu", "cuda")
BACKENDS = ("torch", "onnxruntime")
PRECISIONS = ("fp32", "fp16", "bf16")
ROLLOUTS = ("autoregressive", "joint")  # world_model.sampler.ROLLOUTS (test_parameters checks they agree)
PLANNER_PREFIX = "planner."


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: `default` is a value, or an rclpy Parameter.Type for "no default, must be set"."""

    name: str
    default: Any
    description: str
    dynamic: bool = False
    choices: tuple[str, ...] = ()
    value_range: tuple[float, float] | None = None


SPECS: tuple[ParameterSpec, ...] = (
    ParameterSpec("model_path", "", "World-model folder (vid2world.json, world_model/, scheduler/)."),
    ParameterSpec("image_topic", "/camera/image_raw", "Camera topic (sensor_msgs/Image, sensor-data QoS)."),
    ParameterSpec(
        "image_transport",
        "raw",
        "raw: sensor_msgs/Image on image_topic; compressed: sensor_msgs/CompressedImage on "
        "<image_topic>/compressed.",
        choices=IMAGE_TRANSPORTS,
    ),
    ParameterSpec("joint_states_topic", "/joint_states", "sensor_msgs/JointState feedback."),
    ParameterSpec("goal_image_topic", "~/goal_image", "Goal image (sensor_msgs/Image, reliable)."),
    ParameterSpec(
        "goal_durability",
        "volatile",
        "QoS durability of the goal subscriptions: volatile matches every reliable publisher; "
        "transient_local also receives the current goal from a latched publisher that started earlier, "
        "but never connects to a volatile one.",
        choices=GOAL_DURABILITIES,
    ),
    ParameterSpec(
        "goal_joints_topic",
        "",
        "Optional goal joint positions (sensor_msgs/JointState, by name); empty = not subscribed.",
    ),
    ParameterSpec(
        "command_topic",
        "/forward_command_controller/commands",
        "Where commands go: /<controller>/commands or /<controller>/joint_trajectory.",
    ),
    ParameterSpec(
        "command_type",
        "float64_multi_array",
        "float64_multi_array (std_msgs/Float64MultiArray, the action to execute now) or joint_trajectory "
        "(trajectory_msgs/JointTrajectory, the planned horizon).",
        choices=COMMAND_TYPES,
    ),
    ParameterSpec(
        "joint_names",
        Parameter.Type.STRING_ARRAY,
        "Joints the action commands, in action order; JointState is reordered by these names.",
    ),
    ParameterSpec("action_low", [-1.0], "Lower action bound: one value for all joints, or one per joint."),
    ParameterSpec("action_high", [1.0], "Upper action bound: one value for all joints, or one per joint."),
    ParameterSpec(
        "control_rate",
        2.0,
        "Decisions per second (at most one per new camera frame); 0 = once per new camera frame.",
        value_range=(0.0, 1000.0),
    ),
    ParameterSpec(
        "trajectory_step",
        0.0,
        "Seconds between JointTrajectory points; 0 = 1 / control_rate.",
        value_range=(0.0, 60.0),
    ),
    ParameterSpec(
        "max_input_age",
        0.5,
        "Seconds after which the newest image or joint state counts as stale (one hold, then silence).",
        dynamic=True,
        value_range=(0.01, 3600.0),
    ),
    ParameterSpec(
        "hold_mode",
        "zero",
        "Hold command: zero (velocity and effort interfaces) or current_position (position interfaces).",
        choices=HOLD_MODES,
    ),
    ParameterSpec("autostart", False, "Configure and activate without a lifecycle manager."),
    ParameterSpec(
        "device", "auto", "Torch device: auto (cuda when available), cpu or cuda.", choices=DEVICES
    ),
    ParameterSpec("backend", "torch", "Inference backend: torch or onnxruntime.", choices=BACKENDS),
    ParameterSpec(
        "precision",
        "fp32",
        "backend torch: fp32; fp16 (CUDA only); bf16 (autocast; fast on CPUs with AMX/AVX-512 BF16).",
        choices=PRECISIONS,
    ),
    ParameterSpec(
        "onnx_model",
        "",
        "backend onnxruntime: a file from `vid2world export-onnx`; empty = export the model at configure.",
    ),
    ParameterSpec(
        "num_threads",
        0,
        "Torch CPU threads; 0 = torch's default. 1 avoids oversubscription on small shared CPUs.",
        value_range=(0, 256),
    ),
    ParameterSpec(
        "imagined_period",
        1.0,
        "Seconds between ~/imagined images (only decoded while someone subscribes); 0 = never.",
        dynamic=True,
        value_range=(0.0, 3600.0),
    ),
    ParameterSpec(
        "planner.population", 64, "CEM candidates per iteration.", dynamic=True, value_range=(2, 100000)
    ),
    ParameterSpec(
        "planner.elites", 8, "CEM elites refit to (<= population).", dynamic=True, value_range=(1, 100000)
    ),
    ParameterSpec(
        "planner.iterations", 3, "CEM iterations per decision.", dynamic=True, value_range=(1, 1000)
    ),
    ParameterSpec("planner.horizon", 4, "Decision steps planned ahead.", dynamic=True, value_range=(1, 1000)),
    ParameterSpec(
        "planner.denoise_steps", 3, "Denoising steps per imagined frame.", dynamic=True, value_range=(1, 1000)
    ),
    ParameterSpec(
        "planner.guidance_scale",
        2.5,
        "Causal action guidance scale (1 = no guidance).",
        dynamic=True,
        value_range=(0.0, 100.0),
    ),
    ParameterSpec(
        "planner.goal_blur",
        0.0,
        "Gaussian blur (model pixels) on imagined and goal frames before their distance; 0 = none.",
        dynamic=True,
        value_range=(0.0, 100.0),
    ),
    ParameterSpec(
        "planner.probe_weight",
        0.0,
        "Weight of the joint-space goal cost: the goal image's and each imagined final frame's joints, read "
        "by the model folder's state probe (`vid2world probe`); 0 = off.",
        dynamic=True,
        value_range=(0.0, 1.0e6),
    ),
    ParameterSpec(
        "planner.rollout",
        "autoregressive",
        "How the horizon is imagined: autoregressive (one frame at a time, the paper's inference) or joint "
        "(all frames in one window per denoising step: fewer model passes; torch backend only).",
        dynamic=True,
        choices=ROLLOUTS,
    ),
    ParameterSpec(
        "planner.history_frames",
        4,
        "Camera frames kept as context (history_frames + horizon must fit the model's window).",
        dynamic=True,
        value_range=(1, 1000),
    ),
)

SPECS_BY_NAME = {spec.name: spec for spec in SPECS}


def descriptor(spec: ParameterSpec) -> ParameterDescriptor:
    result = ParameterDescriptor(name=spec.name, description=spec.description, read_only=not spec.dynamic)
    if spec.choices:
        result.additional_constraints = f"one of {list(spec.choices)}"
    if spec.value_range is not None:
        low, high = spec.value_range
        if isinstance(spec.default, int):
            result.integer_range = [IntegerRange(from_value=int(low), to_value=int(high), step=1)]
        else:
            result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    return result


def declare_parameters(node) -> None:
    for spec in SPECS:
        node.declare_parameter(spec.name, spec.default, descriptor(spec))


def parameter_values(node) -> dict[str, Any]:
    """Every declared parameter's value; None for one without default that was never set."""
    values = {}
    for spec in SPECS:
        try:
            values[spec.name] = node.get_parameter(spec.name).value
        except ParameterUninitializedException:
            values[spec.name] = None
    return values


def planner_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """{'planner.population': 8, 'max_input_age': 1.0} -> {'population': 8}."""
    return {
        name[len(PLANNER_PREFIX) :]: value
        for name, value in values.items()
        if name.startswith(PLANNER_PREFIX)
    }


@dataclass(frozen=True)
class NodeSettings:
    """The static settings read in on_configure (see SPECS for what each means)."""

    model_path: str
    image_topic: str
    image_transport: str
    joint_states_topic: str
    goal_image_topic: str
    goal_durability: str
    goal_joints_topic: str
    command_topic: str
    command_type: str
    joint_names: tuple[str, ...]
    action_low: tuple[float, ...]
    action_high: tuple[float, ...]
    control_rate: float
    trajectory_step: float
    max_input_age: float
    hold_mode: str
    device: str
    backend: str
    precision: str
    onnx_model: str
    num_threads: int
    imagined_period: float
    planner: dict[str, Any]

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

    def point_period(self) -> float:
        """Seconds between JointTrajectory points (0 when neither setting gives one)."""
        if self.trajectory_step > 0:
            return self.trajectory_step
        return 1.0 / self.control_rate if self.control_rate > 0 else 0.0


def read_settings(values: Mapping[str, Any]) -> NodeSettings:
    """Check the parameter values that on_configure depends on; ValueError names the first bad one."""
    check_choices(values)
    if not values["model_path"]:
        raise ValueError("`model_path` is empty: set it to a world-model folder.")
    if not Path(values["model_path"]).is_dir():
        raise ValueError(f"`model_path` {values['model_path']!r} does not exist or is not a folder.")
    joint_names = tuple(values["joint_names"] or ())
    if not joint_names:
        raise ValueError("`joint_names` is not set: list the joints the action commands, in order.")
    settings = NodeSettings(
        joint_names=joint_names,
        action_low=tuple(values["action_low"]),
        action_high=tuple(values["action_high"]),
        planner=planner_values(values),
        **{name: values[name] for name in _SCALAR_SETTINGS},
    )
    if (
        settings.command_type == "joint_trajectory"
        and settings.control_rate == 0
        and settings.trajectory_step == 0
    ):
        raise ValueError(
            "command_type joint_trajectory needs `trajectory_step` > 0 when `control_rate` is 0."
        )
    return settings


def validate_changes(changes: Mapping[str, Any], current: Mapping[str, Any], window: int | None) -> None:
    """For the set-parameters callback: ValueError naming the first change that cannot apply.

    current: every parameter's value now; window: the loaded model's frame window (None if unconfigured).
    Ranges and read-only flags are enforced by rclpy from the descriptors; this adds choices and the
    planner settings that only work together (elites <= population, history + horizon <= window).
    """
    check_choices(changes)
    planner_changes = planner_values(changes)
    if planner_changes:
        check_planner_values(planner_values(current) | planner_changes, window)
        if planner_changes.get("rollout") == "joint" and current.get("backend") == "onnxruntime":
            raise ValueError(
                "`planner.rollout` 'joint' needs the torch backend: the ONNX denoiser takes one frame a call."
            )


def planner_config(values: Mapping[str, Any]):
    """{'population': 8, ...} (the planner.* parameters without prefix) -> a validated PlannerConfig.

    The planning library (and torch) is imported on first use: see planner_loading.
    """
    from ..planning.visual_planner import PlannerConfig

    return PlannerConfig(**values)


def check_planner_values(values: Mapping[str, Any], window: int | None = None) -> None:
    """ValueError when the planner.* values cannot work together (or with a model of `window` frames)."""
    config = planner_config(values)
    if config.elites > config.population:
        raise ValueError(
            f"`planner.elites` must be <= `planner.population`. Got {config.elites} > {config.population}."
        )
    model_steps = config.horizon * config.action_repeat
    if window is not None and config.history_frames + model_steps > window:
        raise ValueError(
            f"`planner.history_frames` ({config.history_frames}) + `planner.horizon` ({model_steps}) "
            f"must fit the model's window of {window} frames."
        )


def check_choices(values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        spec = SPECS_BY_NAME.get(name)
        if spec is not None and spec.choices and value not in spec.choices:
            raise ValueError(f"`{name}` must be one of {list(spec.choices)}. Got {value!r}.")


_SCALAR_SETTINGS = (
    "model_path",
    "image_topic",
    "image_transport",
    "joint_states_topic",
    "goal_image_topic",
    "goal_durability",
    "goal_joints_topic",
    "command_topic",
    "command_type",
    "control_rate",
    "trajectory_step",
    "max_input_age",
    "hold_mode",
    "device",
    "backend",
    "precision",
    "onnx_model",
    "num_threads",
    "imagined_period",
)
