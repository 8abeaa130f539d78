"""Parameter declarations, the shipped config file, and the checks run at configure and on change."""

from pathlib import Path

import pytest
import yaml

from ros2_vid2world.ros.node_config import node_parameters, planner_values, read_settings, validate_changes
from ros2_vid2world.ros.parameters import declared_names, descriptor, dynamic_names

CONFIG = Path(__file__).resolve().parents[2] / "config" / "vid2world.yaml"
DECLARED = dict(node_parameters())
DYNAMIC = {"max_input_age", "imagined_period", "command_timeout"} | {
    name for name in DECLARED if name.startswith("planner.")
}


def defaults(tmp_path, **changes):
    values = {name: None if d.rule.required and not d.default else d.default for name, d in DECLARED.items()}
    values.update(model_path=str(tmp_path), joint_names=["j1", "j2"])
    values.update(changes)
    return values


def test_every_parameter_of_the_issue_is_declared():
    required = (
        "model_path image_topic joint_states_topic goal_image_topic command_topic command_type joint_names "
        "action_low action_high control_rate max_input_age hold_mode autostart device backend "
        "planner.population planner.elites planner.iterations planner.horizon planner.denoise_steps "
        "planner.guidance_scale"
    ).split()
    assert not set(required) - declared_names()


def test_descriptors_mark_static_parameters_read_only_and_carry_ranges():
    for name, declared in DECLARED.items():
        result = descriptor(name, declared)
        assert result.description
        assert result.read_only == (name not in DYNAMIC), name
    assert dynamic_names() == DYNAMIC
    assert descriptor("planner.population", DECLARED["planner.population"]).integer_range[0].from_value == 2
    assert descriptor("max_input_age", DECLARED["max_input_age"]).floating_point_range[0].from_value > 0
    assert "zero" in descriptor("hold_mode", DECLARED["hold_mode"]).additional_constraints
    # An exclusive bound cannot be a descriptor range: it is stated, and the callback enforces it.
    assert "> 0" in descriptor("planner.init_std", DECLARED["planner.init_std"]).additional_constraints


def test_settings_from_defaults(tmp_path):
    settings = read_settings(defaults(tmp_path))
    assert settings.joint_names == ("j1", "j2")
    assert settings.planner.population == 64
    assert settings.bounds(2) == ([-1.0, -1.0], [1.0, 1.0])
    assert settings.execution == "hold_while_planning" and settings.limits(2) is None


@pytest.mark.parametrize(
    "changes, match",
    [
        (dict(command_type="twist"), r"`command_type` must be one of \['float64_multi_array'"),
        (dict(hold_mode="brake"), "`hold_mode` must be one of"),
        (dict(device="tpu"), "`device` must be one of"),
        (dict(model_path=""), "`model_path` is empty"),
        (dict(model_path="/nonexistent/model"), "does not exist"),
        (dict(joint_names=None), "`joint_names` is not set"),
        (dict(execution="eventually"), r"`execution` must be one of \['hold_while_planning', 'continuous'\]"),
        (dict(command_timeout=0.0), r"`command_timeout` must be in \(0, 3600\]. Got 0.0"),
        (dict(joint_position_lower=[0.0, 0.0]), "must both be empty or have one value per joint"),
        (
            dict(joint_position_lower=[0.0, 1.0], joint_position_upper=[1.0, 0.5]),
            r"`joint_position_lower` must be <= `joint_position_upper`",
        ),
        (dict(max_action_change=[0.0]), r"`max_action_change` must be > 0"),
        ({"planner.goal_tolerance": -0.1}, r"`planner.goal_tolerance` must be a finite number >= 0"),
        (dict(control_rate=-1.0), r"`control_rate` must be in \[0, 1000\]. Got -1.0"),
        ({"planner.init_std": 0.0}, r"`planner.init_std` must be a finite number > 0"),
    ],
)
def test_bad_settings_fail_with_the_parameter_named(tmp_path, changes, match):
    with pytest.raises(ValueError, match=match):
        read_settings(defaults(tmp_path, **changes))


def test_bounds_take_one_value_for_all_joints_or_one_per_joint(tmp_path):
    settings = read_settings(defaults(tmp_path, action_low=[-0.5, -2.0], action_high=[0.5]))
    assert settings.bounds(2) == ([-0.5, -2.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="must have 1 or action_dim=3"):
        settings.bounds(3)
    with pytest.raises(ValueError, match="action_low` must be <="):
        read_settings(defaults(tmp_path, action_low=[2.0])).bounds(2)


def test_planner_values_are_checked_together(tmp_path):
    values = defaults(tmp_path)
    validate_changes({}, values, window=8)
    with pytest.raises(ValueError, match="`planner.elites`"):
        validate_changes({"planner.elites": 65}, values, window=8)
    with pytest.raises(ValueError, match="window of 6 frames"):
        validate_changes({"planner.history_frames": 4, "planner.horizon": 4}, values, window=6)
    with pytest.raises(ValueError, match="`planner.denoise_steps` must be an integer >= 1"):
        validate_changes({"planner.denoise_steps": 0}, values, window=None)


def test_config_file_sets_every_parameter_with_a_comment_and_the_declared_type(tmp_path):
    text = CONFIG.read_text()
    values = yaml.safe_load(text)["/**"]["ros__parameters"]
    assert set(values) == declared_names()
    lines = text.splitlines()
    for name, declared in DECLARED.items():
        (index,) = [i for i, line in enumerate(lines) if line.strip().startswith(f"{name}:")]
        assert lines[index - 1].strip().startswith("#"), f"{name} has no comment above it"
        if not isinstance(declared.default, tuple):
            # rclpy refuses 2 for a double parameter: the file must write 2.0.
            assert type(values[name]) is type(declared.default), name
    read_settings(values | {"model_path": str(tmp_path)})
    assert values["autostart"] is True  # the pip path has no lifecycle manager


def test_runtime_changes_are_checked_against_the_current_values(tmp_path):
    current = defaults(tmp_path)
    validate_changes({"planner.population": 16, "max_input_age": 0.2}, current, window=8)
    with pytest.raises(ValueError, match="elites"):
        validate_changes({"planner.population": 4}, current, window=8)  # elites stays 8
    with pytest.raises(ValueError, match="window of 5 frames"):
        validate_changes({"planner.horizon": 2}, current, window=5)  # history_frames stays 4
    with pytest.raises(ValueError, match="hold_mode"):
        validate_changes({"hold_mode": "coast"}, current, window=None)
    assert planner_values({"planner.population": 8, "max_input_age": 1.0}) == {"population": 8}


def test_the_joint_rollout_is_a_choice_refused_with_the_onnx_backend(tmp_path):
    validate_changes({"planner.rollout": "joint"}, defaults(tmp_path), window=8)
    with pytest.raises(ValueError, match="`planner.rollout` must be one of"):
        validate_changes({"planner.rollout": "parallel"}, defaults(tmp_path), window=8)
    with pytest.raises(ValueError, match="'joint' needs the torch backend"):
        validate_changes({"planner.rollout": "joint"}, defaults(tmp_path, backend="onnxruntime"), window=8)


@pytest.mark.parametrize(
    "command_type, hold_mode, action_space, refused",
    [
        ("float64_multi_array", "zero", "joint_velocity", False),
        ("float64_multi_array", "current_position", "joint_velocity", True),
        ("float64_multi_array", "zero", "joint_position", True),
        ("float64_multi_array", "current_position", "joint_delta", False),
        ("joint_trajectory", "zero", "joint_velocity", False),
        ("joint_trajectory", "zero", "joint_delta", False),
    ],
)
def test_a_model_whose_actions_the_command_type_cannot_carry_is_refused(
    tmp_path, command_type, hold_mode, action_space, refused
):
    settings = read_settings(defaults(tmp_path, command_type=command_type, hold_mode=hold_mode))
    if refused:
        with pytest.raises(ValueError, match=f"the model's actions are {action_space}.*`hold_mode` must be"):
            settings.check_expressible(action_space)
    else:
        settings.check_expressible(action_space)
