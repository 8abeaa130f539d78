"""What a model's actions mean and how long each lasts: the time and action facts a model folder (and
the dataset it was trained on) records, so that a planner node can time and express its commands.

control_period: seconds of the world per model step (one frame to the next); action_space: whether
an action is a joint velocity, a joint position target or a joint position change per step.
Folders written before these were recorded load with `DEFAULT_CONTROL_PERIOD` and
`DEFAULT_ACTION_SPACE` (what every model of this project was until then: 10 Hz joint velocities)
and a one-line warning.
"""

from __future__ import annotations

import math

from ..choices import ACTION_SPACES

DEFAULT_CONTROL_PERIOD = 0.1
DEFAULT_ACTION_SPACE = "joint_velocity"
UNITS = {
    "joint_velocity": "rad/s (m/s for prismatic joints)",
    "joint_position": "rad (m for prismatic joints)",
    "joint_delta": "rad per model step (m for prismatic joints)",
}


def check_control_period(value, name: str = "control_period") -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value <= 0:
        quoted = name if name.startswith("--") else f"`{name}`"
        raise ValueError(f"{quoted} must be a positive number of seconds. Got {value!r}.")
    return float(value)


def check_action_space(value, name: str = "action_space") -> str:
    if value not in ACTION_SPACES:
        raise ValueError(f"`{name}` must be one of {list(ACTION_SPACES)}. Got {value!r}.")
    return value
