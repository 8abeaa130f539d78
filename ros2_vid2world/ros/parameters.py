"""The planner node's parameters as ROS 2 sees them: declared from `node_config` with descriptors.

Static parameters are read once in on_configure and are read-only (change them in the params file and
restart). Dynamic ones (`max_input_age`, `imagined_period`, `planner.*`) can be set at runtime: the
set-parameters callback validates them, and the planning worker applies them between decisions.
"""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.parameter import Parameter

from ..settings import Declared
from .node_config import node_parameters

# An array setting without a usable default is declared uninitialised with its type: the user must set it.
ARRAY_TYPES = {
    str: Parameter.Type.STRING_ARRAY,
    float: Parameter.Type.DOUBLE_ARRAY,
    int: Parameter.Type.INTEGER_ARRAY,
    bool: Parameter.Type.BOOL_ARRAY,
}
INT64_MAX = 2**63 - 1


def descriptor(name: str, declared: Declared) -> ParameterDescriptor:
    """The descriptor of one declared setting: description (with its unit), read-only unless dynamic,
    the allowed range (inclusive bounds; an exclusive one is stated in additional_constraints and
    enforced by the set-parameters callback) or the choices."""
    rule = declared.rule
    unit = f" [{rule.unit}]" if rule.unit else ""
    result = ParameterDescriptor(name=name, description=rule.description + unit, read_only=not rule.dynamic)
    constraints = []
    if rule.choices:
        constraints.append(f"one of {list(rule.choices)}")
    if declared.kind in (int, float) and (rule.low is not None or rule.high is not None):
        if declared.kind is int:
            low = int(rule.low) if rule.low is not None else -INT64_MAX
            high = int(rule.high) if rule.high is not None else INT64_MAX
            result.integer_range = [IntegerRange(from_value=low, to_value=high, step=1)]
        else:
            low = float(rule.low) if rule.low is not None else float("-inf")
            high = float(rule.high) if rule.high is not None else float("inf")
            result.floating_point_range = [FloatingPointRange(from_value=low, to_value=high, step=0.0)]
    if rule.above is not None or rule.below is not None:
        constraints.append(rule.bounds_text())
    result.additional_constraints = "; ".join(constraints)
    return result


def declare(node, parameters: list[tuple[str, Declared]]) -> None:
    """Declare (name, declaration) pairs on a node (any node: the planner's, the sim's)."""
    for name, declared in parameters:
        default = declared.default
        if declared.rule.required and declared.kind is tuple:
            default = ARRAY_TYPES[declared.item]
        elif declared.kind is tuple:
            default = list(default)
        node.declare_parameter(name, default, descriptor(name, declared))


def declare_parameters(node) -> None:
    """Declare every parameter of the planner node."""
    declare(node, node_parameters())


def declared_names() -> set[str]:
    return {name for name, _ in node_parameters()}


def dynamic_names() -> set[str]:
    return {name for name, declared in node_parameters() if declared.rule.dynamic}


def parameter_values(node) -> dict[str, Any]:
    """Every declared parameter's value; None for one without default that was never set."""
    values = {}
    for name, _ in node_parameters():
        try:
            values[name] = node.get_parameter(name).value
        except ParameterUninitializedException:
            values[name] = None
    return values
