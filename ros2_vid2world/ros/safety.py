"""When the node must stop commanding: missing, stale or non-finite inputs.

forward_command_controller has no timeout: it repeats the last command forever. So when inputs go
stale, turn NaN, or the planner fails, the node sends exactly one hold command and then nothing
until fresh inputs let it plan again (`commands.CommandGate` makes that hold).
"""

from __future__ import annotations

import numpy as np

from .latest_inputs import Sample


def input_age(sample: Sample, now: float) -> float:
    """Seconds since the sample was taken: the larger of the time since arrival and the time since its
    header stamp, so an old stamp (a lagging driver, a bag replayed without sim time) counts as old."""
    age = now - sample.received
    if sample.stamp > 0:
        age = max(age, now - sample.stamp)
    return age


def unsafe_reason(frame: Sample | None, joints: Sample | None, now: float, max_age: float) -> str | None:
    """Why the node must not command now (missing, stale or non-finite inputs), or None when it may."""
    if frame is None:
        return "no camera image yet"
    if joints is None:
        return "no joint state yet"
    for name, sample in (("camera image", frame), ("joint state", joints)):
        age = input_age(sample, now)
        if age > max_age:
            return f"newest {name} is {age:.2f} s old (max_input_age {max_age:g} s)"
    if not np.all(np.isfinite(joints.value)):
        return "joint state contains NaN or inf"
    return None
