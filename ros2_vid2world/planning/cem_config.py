"""The cross-entropy method's settings, torch-free so that nodes and CLIs can validate them early."""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from ..choices import PLANNER_METHODS
from ..settings import check_settings, setting


@dataclass
class CEMConfig:
    """CEM settings; each candidate is an action sequence [horizon, action_dim].

    low, high: action bounds, one float for every dimension or one per dimension; candidates are
    clipped to them. init_std and min_std are fractions of the half-range (high - low) / 2, so an
    init_std of 1.0 spans the bounds. `method` picks the sampler, the refit and what carries over
    (see `planning.cem`); the icem_* and mppi_* settings apply to that method only.
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
    method: str = setting(
        "cem",
        "Search: cem (white noise, refit to the elites), icem (colored noise, elites kept across "
        "iterations and decisions, shrinking population; Pinneri et al. 2020) or mppi (refit weighted by "
        "exp(-cost / temperature) over all candidates).",
        choices=PLANNER_METHODS,
    )
    icem_beta: float = setting(
        2.0,
        "icem: exponent of the sampling noise's power spectrum 1/f^beta along the horizon; 0 = white, "
        "larger = smoother action sequences (a horizon under 4 steps is too short to color: white).",
        low=0.0, high=5.0,
    )
    icem_keep_elites: float = setting(
        0.3,
        "icem: fraction of the elites (rounded down) kept as candidates into the next iteration and, "
        "shifted by the executed steps, into the next decision.",
        low=0.0, high=1.0,
    )
    icem_population_decay: float = setting(
        1.25,
        "icem: iteration i scores population / decay^i candidates (at least icem_min_population); "
        "1 = no decay.",
        low=1.0, high=10.0,
    )
    icem_min_population: int = setting(
        16,
        "icem: the population shrinks no lower than this (nor than population itself); at least "
        "elites + 2.",
        low=2,
    )
    mppi_temperature: float = setting(
        0.1,
        "mppi: temperature of the weights exp(-(cost - best) / (temperature x cost range)); lower "
        "concentrates the refit on the best candidates.",
        above=0.0,
    )

    def __post_init__(self):
        check_settings(self)
        if not self.elites <= self.population:
            raise ValueError(
                f"`elites` must be in [1, population]. Got {self.elites!r} with population={self.population}."
            )
        if not self.min_std <= self.init_std:
            raise ValueError(f"`min_std` must be in [0, init_std={self.init_std}]. Got {self.min_std}.")
        # iCEM scores the kept elites, the best so far and the mean besides its samples: up to elites + 2
        # candidates that the smallest population must hold.
        if self.method == "icem":
            for name in ("population", "icem_min_population"):
                if getattr(self, name) < self.elites + 2:
                    raise ValueError(
                        f"`{name}` must be >= elites + 2 = {self.elites + 2} with method icem. "
                        f"Got {getattr(self, name)}."
                    )
        low, high = self.bounds()
        if any(lo > hi for lo, hi in zip(low, high, strict=True)):
            raise ValueError(
                f"`low` must be <= `high` in every dimension. Got low={list(low)} high={list(high)}."
            )

    @property
    def kept_elites(self) -> int:
        """How many elites iCEM carries into the next iteration and decision (0 for cem and mppi)."""
        # The epsilon keeps a product such as 0.29 x 100 (28.999... in floating point) from rounding down.
        return int(self.icem_keep_elites * self.elites + 1e-9) if self.method == "icem" else 0

    def populations(self) -> list[int]:
        """Candidates scored at each iteration: `population`, or for icem population / decay^i
        (rounded), no lower than `icem_min_population` (or `population` when that is smaller)."""
        if self.method != "icem":
            return [self.population] * self.iterations
        floor = min(self.icem_min_population, self.population)
        return [
            max(floor, round(self.population / self.icem_population_decay**i)) for i in range(self.iterations)
        ]

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
