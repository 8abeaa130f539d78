"""sensor_msgs/JointState positions, reordered by name into the planner's `joint_names` order."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class JointOrder:
    """Picks `joint_names` out of JointState messages, whatever order (or extra joints) they carry.

    Drivers publish joints in their own order, sometimes split over several messages; matching by
    name is the only safe way. The index for a given name list is computed once and reused.
    """

    def __init__(self, joint_names: Sequence[str]):
        names = list(joint_names)
        if not names:
            raise ValueError("`joint_names` must name at least one joint. Got [].")
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"`joint_names` must not repeat a joint. Got {duplicates} more than once.")
        self.joint_names = tuple(names)
        self._name_set = frozenset(names)
        self._index_cache: dict[tuple[str, ...], np.ndarray] = {}

    def concerns(self, names: Sequence[str]) -> bool:
        """True when the message names at least one of our joints (others, e.g. a gripper's, are ignored)."""
        return any(name in self._name_set for name in names)

    def positions(self, names: Sequence[str], positions: Sequence[float]) -> np.ndarray:
        """float64 [J] in `joint_names` order; ValueError when a joint is missing or the message is malformed.

        NaN and inf pass through: they are a safety matter (hold), not a malformed message.
        """
        names = tuple(names)
        values = np.asarray(positions, dtype=np.float64)
        if values.shape != (len(names),):
            raise ValueError(
                f"JointState has {len(names)} names but {values.size} positions; they must match."
            )
        index = self._index_cache.get(names)
        if index is None:
            index = self._index(names)
        return values[index]

    def _index(self, names: tuple[str, ...]) -> np.ndarray:
        if len(set(names)) != len(names):
            raise ValueError(f"JointState names must be unique. Got {list(names)}.")
        where = {name: i for i, name in enumerate(names)}
        missing = [name for name in self.joint_names if name not in where]
        if missing:
            raise ValueError(f"JointState lacks joints {missing} (it has {list(names)}).")
        index = np.array([where[name] for name in self.joint_names], dtype=np.intp)
        if len(self._index_cache) < 16:  # drivers use one or two name lists; never grow without bound
            self._index_cache[names] = index
        return index
