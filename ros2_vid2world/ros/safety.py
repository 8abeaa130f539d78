"""When the node must stop commanding, and the gate that makes "one hold, then silence" hold.

forward_command_controller has no timeout: it repeats the last command forever. So when inputs go
stale, turn NaN, or the planner fails, the node sends exactly one hold command and then nothing
until fresh inputs let it plan again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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


class CommandGate:
    """Serialises commands and holds on the command publisher.

    `send` publishes only while open; `hold` publishes a hold only if the last thing sent was a command
    (so a second reason to stop stays silent); `close` (deactivate, disable) always sends its hold, and
    takes the same lock, so a decision finishing during the close cannot slip out after the hold.
    """

    def __init__(self, publish: Callable[[object], None]):
        self._publish = publish
        self._lock = threading.Lock()
        self._open = False
        self._commanding = False

    @property
    def is_open(self) -> bool:
        return self._open

    @property
    def commanding(self) -> bool:
        """True when the last message sent was a command (not a hold) and the gate is open."""
        return self._commanding

    def open(self) -> None:
        with self._lock:
            self._open = True

    def send(self, command) -> bool:
        with self._lock:
            if not self._open:
                return False
            self._publish(command)
            self._commanding = True
            return True

    def hold(self, hold_command) -> bool:
        """Publish `hold_command` (None: none can be built) if a command was the last thing sent."""
        with self._lock:
            if not self._commanding:
                return False
            if hold_command is not None:
                self._publish(hold_command)
            self._commanding = False
            return True

    def close(self, hold_command) -> None:
        with self._lock:
            if hold_command is not None:
                self._publish(hold_command)
            self._open = False
            self._commanding = False
