"""How robot-unit actions become the model's units, and back: one object for training, planning and
evaluation, stored in the model folder's manifest (`action_stats`) so that it travels with the model."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ActionNormalization:
    """model units = (robot units - mean) / std, per action dimension.

    Works on numpy arrays and torch tensors alike ([..., A]); the result keeps the input's type,
    in float32 (the model's precision), on the input's device.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self):
        mean, std = tuple(float(v) for v in self.mean), tuple(float(v) for v in self.std)
        if not mean or len(mean) != len(std):
            raise ValueError(
                f"action normalisation needs one mean and one std per action dimension. "
                f"Got {len(mean)} and {len(std)}."
            )
        if not all(math.isfinite(v) for v in mean + std) or min(std) <= 0:
            raise ValueError(f"action normalisation: std must be finite and > 0. Got mean {mean}, std {std}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    @classmethod
    def identity(cls, action_dim: int) -> ActionNormalization:
        """Actions already in the model's units (a folder written without statistics)."""
        return cls((0.0,) * action_dim, (1.0,) * action_dim)

    @classmethod
    def from_stats(cls, stats: Mapping | None, action_dim: int) -> ActionNormalization:
        """From a manifest's or dataset's `action_stats` ({'mean': [...], 'std': [...], ...}); identity
        when there are none. ValueError when they do not have `action_dim` values."""
        if stats is None:
            return cls.identity(action_dim)
        result = cls(tuple(stats["mean"]), tuple(stats["std"]))
        if result.action_dim != action_dim:
            raise ValueError(
                f"action_stats have {result.action_dim} dimensions; the model takes {action_dim}-dimensional "
                "actions."
            )
        return result

    @property
    def action_dim(self) -> int:
        return len(self.mean)

    def to_stats(self) -> dict[str, list[float]]:
        return {"mean": list(self.mean), "std": list(self.std)}

    def normalize(self, actions):
        """[..., A] robot units -> model units."""
        mean, std = self._like(actions)
        return (self._float(actions) - mean) / std

    def denormalize(self, actions):
        """[..., A] model units -> robot units."""
        mean, std = self._like(actions)
        return self._float(actions) * std + mean

    def _like(self, actions) -> tuple:
        if isinstance(actions, np.ndarray):
            return np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        import torch

        device = actions.device
        return (torch.tensor(self.mean, dtype=torch.float32, device=device),
                torch.tensor(self.std, dtype=torch.float32, device=device))

    @staticmethod
    def _float(actions):
        if isinstance(actions, np.ndarray):
            return actions.astype(np.float32, copy=False)
        return actions.float()

