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


# Stamps this far from the node's clock are not late: they come from another clock.
CLOCK_MISMATCH_S = 1e5


def unsafe_reason(
    frame: Sample | None, joints: Sample | None, now: float, max_age: float, clock: str = "node clock"
) -> str | None:
    """Why the node must not command now (missing, stale or non-finite inputs), or None when it may.
    clock: what the node's time is (sim time or wall time), to name a mismatch."""
    if frame is None:
        return "no camera image yet"
    if joints is None:
        return "no joint state yet"
    for name, sample in (("camera image", frame), ("joint state", joints)):
        if sample.stamp > 0 and abs(now - sample.stamp) > CLOCK_MISMATCH_S:
            return (
                f"clock mismatch: the newest {name} is stamped {sample.stamp:.3f} s but the node's {clock} "
                f"reads {now:.3f} s; run the publisher and this node on the same clock (use_sim_time)"
            )
        age = input_age(sample, now)
        if age > max_age:
            return f"newest {name} is {age:.2f} s old (max_input_age {max_age:g} s, {clock})"
    if not np.all(np.isfinite(joints.value)):
        return "joint state contains NaN or inf"
    return None
