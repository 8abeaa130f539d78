"""Random exploratory commands for data collection: temporally correlated so that motions are visible.

Most of the time a random action in [-1, 1]^2 is held for a random 1-4 steps; now and then a sweep
drives both joints at full speed (each in a random direction) for 5-20 steps, long enough for the
shoulder to turn most of the way round and the wrist to reach its limit, so that the data covers the
workspace; and now and then the arm holds still (a zero command), which the data must show too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ReacherEnv's goal protocols (kept here, free of MuJoCo, for callers that only validate settings):
# "random" draws any pose, "exploration" runs this module's policy from the start.
GOAL_SOURCES = ("random", "exploration")


@dataclass
class ExplorationConfig:
    hold_steps: tuple[int, int] = (1, 4)  # inclusive range of steps one random action is held
    sweep_steps: tuple[int, int] = (5, 20)  # inclusive range of steps of one full-speed sweep
    sweep_probability: float = 0.1  # chance that a new segment is a sweep
    still_probability: float = 0.05  # chance that a new segment is a zero command

    def __post_init__(self):
        for name in ("hold_steps", "sweep_steps"):
            low, high = getattr(self, name)
            if not 1 <= low <= high:
                raise ValueError(f"`{name}` must be (low, high) with 1 <= low <= high. Got {(low, high)}.")
        for name in ("sweep_probability", "still_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"`{name}` must be in [0, 1]. Got {getattr(self, name)!r}.")
        if self.sweep_probability + self.still_probability > 1:
            raise ValueError(
                "`sweep_probability` + `still_probability` must be <= 1. "
                f"Got {self.sweep_probability} + {self.still_probability}."
            )


class ExplorationPolicy:
    """Call it once per control step for the next action in [-1, 1]^action_dim."""

    def __init__(
        self, rng: np.random.Generator, config: ExplorationConfig | None = None, action_dim: int = 2
    ):
        self.config = config or ExplorationConfig()
        self._rng = rng
        self._action_dim = action_dim
        self._action = np.zeros(action_dim)
        self._remaining = 0

    def reset(self) -> None:
        """Start a new segment at the next call (call at the start of an episode)."""
        self._remaining = 0

    def __call__(self) -> np.ndarray:
        if self._remaining == 0:
            self._action, self._remaining = self._new_segment()
        self._remaining -= 1
        return self._action.copy()

    def _new_segment(self) -> tuple[np.ndarray, int]:
        config, rng = self.config, self._rng
        kind = rng.random()
        if kind < config.sweep_probability:
            action = rng.choice([-1.0, 1.0], size=self._action_dim)
            return action, int(rng.integers(config.sweep_steps[0], config.sweep_steps[1] + 1))
        hold = int(rng.integers(config.hold_steps[0], config.hold_steps[1] + 1))
        if kind < config.sweep_probability + config.still_probability:
            return np.zeros(self._action_dim), hold
        return rng.uniform(-1.0, 1.0, size=self._action_dim), hold
