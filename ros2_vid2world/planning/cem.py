"""The cross-entropy method (CEM): sample action sequences, score them, refit the Gaussian, repeat."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from .cem_config import CEMConfig
from .errors import PlanCancelled, PlanningError

CostFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class CEMInfo:
    """What one `optimize` call did. Iterations are counted from 0; lists hold one entry per iteration.

    best_costs: lowest finite cost among that iteration's candidates.
    mean_costs: mean of that iteration's finite costs.
    stds: std of the Gaussian after that iteration's refit, averaged over horizon and action dims.
    nonfinite_counts: candidates whose cost was NaN or infinite (they rank last).
    best_cost, best_sequence [H, A], best_iteration: the best candidate seen in any iteration.
    final_std: [H, A] std after the last refit.
    """

    best_costs: list[float] = field(default_factory=list)
    mean_costs: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    nonfinite_counts: list[int] = field(default_factory=list)
    best_cost: float = math.inf
    best_sequence: torch.Tensor | None = None
    best_iteration: int = -1
    final_std: torch.Tensor | None = None


def finite_costs(costs: torch.Tensor) -> torch.Tensor:
    """[N] -> [N] with NaN and +-inf replaced by +inf, so those candidates rank last and never win.

    -inf counts too: a cost of -inf almost always means a broken cost term, not a perfect plan.
    """
    return torch.where(torch.isfinite(costs), costs, torch.full_like(costs, math.inf))


class CEM:
    """Minimises cost_fn over action sequences [H, A] with the cross-entropy method.

    Stateless between `optimize` calls except for its random generator: two CEMs with the same seed
    produce the same sequence of results.
    """

    def __init__(
        self,
        action_dim: int,
        horizon: int,
        population: int,
        elites: int,
        iterations: int,
        low: float | Sequence[float],
        high: float | Sequence[float],
        momentum: float = 0.1,
        init_std: float = 0.5,
        min_std: float = 0.05,
        seed: int | None = None,
    ):
        self.config = CEMConfig(
            action_dim, horizon, population, elites, iterations, low, high, momentum, init_std, min_std, seed
        )
        self._generators: dict[torch.device, torch.Generator] = {}

    @classmethod
    def from_config(cls, config: CEMConfig) -> CEM:
        return cls(**vars(config))

    @torch.no_grad()
    def optimize(
        self,
        cost_fn: CostFn,
        init_mean: torch.Tensor | None = None,
        device: str | torch.device | None = None,
    ) -> tuple[torch.Tensor, CEMInfo]:
        """Run `iterations` rounds of sample - score - refit.

        Args:
            cost_fn: candidates [N, H, A] -> costs [N]; lower is better. Called once per iteration with
                the whole population. NaN/inf costs lose; a cost_fn that raises stops the optimisation.
            init_mean: [H, A] starting mean (e.g. a shifted previous plan), clipped to the bounds;
                None starts from the middle of the bounds.
            device: where candidates live; defaults to init_mean's device, else the CPU.

        Returns:
            The final mean [H, A] and a CEMInfo whose best_sequence is the best candidate ever scored.

        Raises:
            ValueError: init_mean or the costs have the wrong shape, or every cost of an iteration is NaN/inf.
            PlanningError: cost_fn raised (chained as __cause__).
        """
        cfg = self.config
        shape = (cfg.horizon, cfg.action_dim)
        if device is None:
            device = init_mean.device if init_mean is not None else torch.device("cpu")
        device = torch.device(device)
        dtype = init_mean.dtype if init_mean is not None and init_mean.is_floating_point() else torch.float32
        low, high = (torch.tensor(b, device=device, dtype=dtype) for b in cfg.bounds())
        half_range = (high - low) / 2

        if init_mean is None:
            mean = (low + half_range).expand(shape).clone()
        else:
            if tuple(init_mean.shape) != shape:
                raise ValueError(
                    f"`init_mean` must have shape [H, A] = {list(shape)}. Got {list(init_mean.shape)}."
                )
            if not torch.isfinite(init_mean).all():
                raise ValueError("`init_mean` must be finite. Got NaN or inf entries.")
            mean = init_mean.to(device=device, dtype=dtype).clamp(low, high)
        std = (cfg.init_std * half_range).expand(shape).clone()
        floor = (cfg.min_std * half_range).expand(shape)

        info = CEMInfo(best_sequence=mean.clone())
        generator = self._generator(device)
        for iteration in range(cfg.iterations):
            candidates = self._sample(mean, std, low, high, generator)
            costs = self._score(cost_fn, candidates, iteration)
            mean, std = self._refit(mean, std, candidates, costs, floor)
            self._record(info, iteration, candidates, costs, std)
        info.final_std = std
        return mean, info

    def _generator(self, device: torch.device) -> torch.Generator:
        # One generator per device: CUDA sampling needs a CUDA generator.
        if device not in self._generators:
            generator = torch.Generator(device=device)
            if self.config.seed is None:
                generator.seed()
            else:
                generator.manual_seed(self.config.seed)
            self._generators[device] = generator
        return self._generators[device]

    def _sample(self, mean, std, low, high, generator) -> torch.Tensor:
        """[N, H, A]: the current mean first, then N-1 clipped Gaussian samples around it."""
        # Re-scoring the mean means a good plan (e.g. the warm start) can only be replaced by a better one.
        noise = torch.randn(
            (self.config.population - 1, *mean.shape),
            generator=generator,
            device=mean.device,
            dtype=mean.dtype,
        )
        candidates = torch.cat([mean[None], mean + std * noise], dim=0)
        return candidates.clamp(low, high)

    def _score(self, cost_fn: CostFn, candidates: torch.Tensor, iteration: int) -> torch.Tensor:
        """[N] costs with NaN/inf replaced by +inf."""
        try:
            costs = cost_fn(candidates)
        except PlanCancelled:
            raise
        except Exception as exc:
            raise PlanningError(
                f"cost function raised at iteration {iteration}: {type(exc).__name__}: {exc}"
            ) from exc
        n = candidates.shape[0]
        if not isinstance(costs, torch.Tensor):
            raise TypeError(
                f"cost_fn must return a torch.Tensor of shape [N] = [{n}]. Got {type(costs).__name__}."
            )
        if tuple(costs.shape) != (n,):
            raise ValueError(
                f"cost_fn must return one cost per candidate: expected shape [N] = [{n}]. "
                f"Got shape {list(costs.shape)}."
            )
        costs = finite_costs(costs.to(device=candidates.device))
        if torch.isinf(costs).all():
            raise ValueError(
                f"all {n} costs at iteration {iteration} are NaN or infinite: the cost function cannot rank "
                "any candidate."
            )
        return costs

    def _refit(self, mean, std, candidates, costs, floor) -> tuple[torch.Tensor, torch.Tensor]:
        """Refit mean/std [H, A] to the elites, blended with the old ones by `momentum`, std floored."""
        cfg = self.config
        elite_costs, elite_index = torch.topk(costs, cfg.elites, largest=False)
        elites = candidates[elite_index]
        # If fewer than K costs are finite, the non-finite "elites" get zero weight: they never pull the mean.
        weights = torch.isfinite(elite_costs).to(elites.dtype)
        weights = (weights / weights.sum())[:, None, None]
        elite_mean = (weights * elites).sum(dim=0)
        elite_std = (weights * (elites - elite_mean) ** 2).sum(dim=0).sqrt()
        mean = cfg.momentum * mean + (1 - cfg.momentum) * elite_mean
        std = torch.maximum(cfg.momentum * std + (1 - cfg.momentum) * elite_std, floor)
        return mean, std

    @staticmethod
    def _record(info: CEMInfo, iteration, candidates, costs, std) -> None:
        finite = torch.isfinite(costs)
        best_index = torch.argmin(costs)
        best_cost = costs[best_index].item()
        info.best_costs.append(best_cost)
        info.mean_costs.append(costs[finite].mean().item())
        info.stds.append(std.mean().item())
        info.nonfinite_counts.append(int((~finite).sum().item()))
        # Strictly lower: on a tie the earlier candidate stays, so the choice does not flicker.
        if best_cost < info.best_cost:
            info.best_cost = best_cost
            info.best_sequence = candidates[best_index].clone()
            info.best_iteration = iteration
