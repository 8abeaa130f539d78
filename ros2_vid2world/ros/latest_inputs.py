"""Latest-only mailbox between the subscription callbacks and the planning worker.

Each kind of input has one slot; a new message replaces the previous one, so a slow planner always
sees the newest camera frame and nothing ever queues up behind it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

FRAME, JOINTS, GOAL, GOAL_JOINTS = "frame", "joints", "goal", "goal_joints"


@dataclass(frozen=True)
class Sample:
    """One input. stamp: header stamp in seconds (0 = unstamped); received: node clock at arrival;
    seq: increases with every put, over all kinds."""

    value: np.ndarray
    stamp: float
    received: float
    seq: int


class LatestInputs:
    """Thread-safe latest-only slots; `wait_for_frame` wakes the worker when a new frame arrives."""

    def __init__(self):
        self._condition = threading.Condition()
        self._slots: dict[str, Sample] = {}
        self._seq = 0

    def put(self, kind: str, value: np.ndarray, stamp: float, received: float) -> None:
        with self._condition:
            self._seq += 1
            self._slots[kind] = Sample(value, stamp, received, self._seq)
            if kind == FRAME:
                self._condition.notify_all()

    def latest(self, kind: str) -> Sample | None:
        with self._condition:
            return self._slots.get(kind)

    def snapshot(self) -> dict[str, Sample]:
        with self._condition:
            return dict(self._slots)

    def wait_for_frame(self, newer_than: int, timeout: float) -> bool:
        """Block until a frame with seq > newer_than is in its slot, or timeout; True if there is one."""
        with self._condition:
            return self._condition.wait_for(
                lambda: FRAME in self._slots and self._slots[FRAME].seq > newer_than, timeout
            )

    def wake(self) -> None:
        """Wake a waiting worker without new data (it is stopping)."""
        with self._condition:
            self._condition.notify_all()

    def clear(self, *kinds: str) -> None:
        with self._condition:
            for kind in kinds:
                self._slots.pop(kind, None)
