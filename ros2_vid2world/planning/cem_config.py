"""The cross-entropy method's settings, torch-free so that nodes and CLIs can validate them early."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from ..settings import check_settings, setting


@dataclass
class CEMConfig:
    """CEM settings; each candidate is an action sequence [horizon, action_dim].

    low, high: action bounds, one float for every dimension or one per dimension; candidates are
    clipped to them. init_std and min_std are fractions of the half-range (high - low) / 2, so an
    init_std of 1.0 spans the bounds.
    """

    action_dim: int = setting(description="Action dimensions per step.", low=1)
    horizon: int = setting(description="Decision steps planned ahead.", unit="steps", low=1)
    # One candidate is always the current mean, so at least one more is needed to explore.
    population: int = setting(description="CEM candidates per iteration (the current mean included).", low=2)
    elites: int = setting(description="CEM elites the Gaussian is refit to (at most population).", low=1)
    iterations: int = setting(description="CEM iterations (sample - score - refit) per decision.", low=1)
    low: float | Sequence[float]
    high: float | Sequence[float]
    momentum: float = setting(
        0.1, "Weight of the old mean and std in each refit; 0 refits to the elites alone.", low=0.0, below=1.0
    )
    init_std: float = setting(
        0.5, "Initial std of the sampling Gaussian, as a fraction of the bounds' half-range.", above=0.0
    )
    min_std: float = setting(
        0.05,
        "Floor on the std (same unit as init_std, at most init_std): keeps CEM from collapsing onto "
        "one sequence.",
        low=0.0,
    )
    seed: int | None = setting(
        None, "Seed of the sampling noise; None draws a random one.", low=0, parameter=False
    )

    def __post_init__(self):
        check_settings(self)
        if not self.elites <= self.population:
            raise ValueError(
                f"`elites` must be in [1, population]. Got {self.elites!r} with population={self.population}."
            )
        if not self.min_std <= self.init_std:
            raise ValueError(f"`min_std` must be in [0, init_std={self.init_std}]. Got {self.min_std}.")
        low, high = self.bounds()
        if any(lo > hi for lo, hi in zip(low, high, strict=True)):
            raise ValueError(
                f"`low` must be <= `high` in every dimension. Got low={list(low)} high={list(high)}."
            )

    def bounds(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """(low, high), each as action_dim floats."""
        return _per_dimension("low", self.low, self.action_dim), _per_dimension(
            "high", self.high, self.action_dim
        )


def _per_dimension(name: str, value: float | Sequence[float], action_dim: int) -> tuple[float, ...]:
    if isinstance(value, numbers.Real):
        values = (float(value),) * action_dim
    else:
        values = tuple(float(v) for v in value)
        if len(values) != action_dim:
            raise ValueError(
                f"`{name}` must be one float or {action_dim} floats (one per action dimension). "
                f"Got {len(values)}: {list(values)}."
            )
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"`{name}` must be finite: CEM samples relative to the bounds. Got {list(values)}.")
    return values
