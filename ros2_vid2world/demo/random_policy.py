"""The floor: uniformly random velocities (the reacher's joints, the pusher's axes), a fresh draw every
step, seeded per episode."""

from __future__ import annotations

import numpy as np

RANDOM_STREAM = 0x72616E64  # "rand": the policy's draws are not the episode's start/goal draws


class RandomPolicy:
    """Velocities uniform in [low, high] (the sim's command units: rad/s, or m/s) per joint and step."""

    name = "random"

    def __init__(self, low: list[float], high: list[float]):
        self.low, self.high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        self._rng = np.random.default_rng()

    def start(self, env, seed: int) -> None:
        self._rng = np.random.default_rng([RANDOM_STREAM, seed])

    def act(self, env) -> tuple[np.ndarray, None]:
        """(velocities [2], no imagined frame)."""
        return self._rng.uniform(self.low, self.high), None
