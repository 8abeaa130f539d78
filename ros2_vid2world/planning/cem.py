"""The cross-entropy method (CEM) and its variants: sample action sequences, score them, refit the
Gaussian, repeat.

One loop (`CEM.optimize`) serves every `method`; they differ only in the small functions it calls:

    method  sampler (noise)          refit (weights)                   scored again (carried)
    cem     white                    the elites, equally               the current mean
    icem    colored: PSD 1/f^beta    the elites, equally               the kept elites (of the previous
                                                                       iteration; at the first, of the
                                                                       previous decision, shifted), the
                                                                       best so far, and on the last
                                                                       iteration the mean
    mppi    white                    all, by exp(-cost / temperature)  the current mean

iCEM (Pinneri et al. 2020, "Sample-efficient cross-entropy method for real-time planning") also scores
fewer candidates at each iteration (`CEMConfig.populations`).
"""

from __future__ import annotations

import functools
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
    populations: candidates scored at each iteration (their sum: the cost evaluations of the call).
    best_cost, best_sequence [H, A], best_iteration: the best candidate seen in any iteration.
    final_std: [H, A] std after the last refit.
    kept_elites: [k, H, A] icem: the last iteration's best candidates, best first, for the next decision
        (shift them by the executed steps first); None for the other methods.
    """

    best_costs: list[float] = field(default_factory=list)
    mean_costs: list[float] = field(default_factory=list)
    stds: list[float] = field(default_factory=list)
    nonfinite_counts: list[int] = field(default_factory=list)
    populations: list[int] = field(default_factory=list)
    best_cost: float = math.inf
    best_sequence: torch.Tensor | None = None
    best_iteration: int = -1
    final_std: torch.Tensor | None = None
    kept_elites: torch.Tensor | None = None


def finite_costs(costs: torch.Tensor) -> torch.Tensor:
    """[N] -> [N] with NaN and +-inf replaced by +inf, so those candidates rank last and never win.

    -inf counts too: a cost of -inf almost always means a broken cost term, not a perfect plan.
    """
    return torch.where(torch.isfinite(costs), costs, torch.full_like(costs, math.inf))


class CEM:
    """Minimises cost_fn over action sequences [H, A] with the cross-entropy method (or a variant, see
    the module doc and `CEMConfig.method`).

    Stateless between `optimize` calls except for its random generator: two CEMs with the same seed
    produce the same sequence of results. What iCEM carries to the next decision is returned in
    `CEMInfo.kept_elites` and passed back by the caller, who knows how many steps were executed.
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
        **method_settings,
    ):
        """method_settings: `method` and the icem_* / mppi_* settings of `CEMConfig`."""
        self.config = CEMConfig(
            action_dim, horizon, population, elites, iterations, low, high, momentum, init_std, min_std, seed,
            **method_settings,
        )
        self._generators: dict[torch.device, torch.Generator] = {}
        cfg = self.config
        self._noise = functools.partial(colored_noise, cfg.icem_beta) if cfg.method == "icem" else white_noise
        if cfg.method == "mppi":
            self._refit_weights = functools.partial(exponential_weights, temperature=cfg.mppi_temperature)
        else:
            self._refit_weights = functools.partial(elite_weights, elites=cfg.elites)

    @classmethod
    def from_config(cls, config: CEMConfig) -> CEM:
        return cls(**vars(config))

    @torch.no_grad()
    def optimize(
        self,
        cost_fn: CostFn,
        init_mean: torch.Tensor | None = None,
        device: str | torch.device | None = None,
        kept_elites: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, CEMInfo]:
        """Run `iterations` rounds of sample - score - refit.

        Args:
            cost_fn: candidates [N, H, A] -> costs [N]; lower is better. Called once per iteration with
                the whole population. NaN/inf costs lose; a cost_fn that raises stops the optimisation.
            init_mean: [H, A] starting mean (e.g. a shifted previous plan), clipped to the bounds;
                None starts from the middle of the bounds.
            device: where candidates live; defaults to init_mean's device, else the CPU.
            kept_elites: [k, H, A] icem: the previous decision's `CEMInfo.kept_elites`, shifted by the
                executed steps; clipped to the bounds, the first `CEMConfig.kept_elites` are scored in
                the first iteration. Ignored by the other methods.

        Returns:
            The final mean [H, A] and a CEMInfo whose best_sequence is the best candidate ever scored.

        Raises:
            ValueError: init_mean, kept_elites or the costs have the wrong shape, or every cost of an
                iteration is NaN/inf.
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
            _check_sequences("init_mean", init_mean, shape)
            mean = init_mean.to(device=device, dtype=dtype).clamp(low, high)
        std = (cfg.init_std * half_range).expand(shape).clone()
        floor = (cfg.min_std * half_range).expand(shape)
        kept = mean.new_zeros((0, *shape))
        if kept_elites is not None and cfg.kept_elites:
            _check_sequences("kept_elites", kept_elites, (len(kept_elites), *shape))
            kept = kept_elites[: cfg.kept_elites].to(device=device, dtype=dtype).clamp(low, high)

        info = CEMInfo(best_sequence=mean.clone())
        generator = self._generator(device)
        for iteration, population in enumerate(cfg.populations()):
            carried = self._carried(iteration, mean, kept, info.best_sequence)
            noise = self._noise((population - len(carried), *shape), generator, device, dtype)
            candidates = torch.cat([carried, mean + std * noise], dim=0).clamp(low, high)
            costs = self._score(cost_fn, candidates, iteration)
            mean, std = fit_gaussian(mean, std, *self._refit_weights(candidates, costs), cfg.momentum, floor)
            kept = lowest_cost(candidates, costs, cfg.kept_elites)
            self._record(info, iteration, candidates, costs, std)
        info.final_std = std
        info.kept_elites = kept if cfg.method == "icem" else None
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

    def _carried(self, iteration: int, mean, kept, best) -> torch.Tensor:
        """[E, H, A] the candidates scored again rather than sampled (they count in the population)."""
        cfg = self.config
        if cfg.method != "icem":
            # Re-scoring the mean: a good plan (e.g. the warm start) can only be replaced by a better one.
            return mean[None]
        parts = [kept]
        # With noisy costs (imagination draws new noise) the best so far can drop out of the kept elites.
        if iteration > 0 and not (kept == best).all(dim=(1, 2)).any():
            parts.append(best[None])
        if iteration == cfg.iterations - 1:
            parts.append(mean[None])
        return torch.cat(parts, dim=0)

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

    @staticmethod
    def _record(info: CEMInfo, iteration, candidates, costs, std) -> None:
        finite = torch.isfinite(costs)
        best_index = torch.argmin(costs)
        best_cost = costs[best_index].item()
        info.best_costs.append(best_cost)
        info.mean_costs.append(costs[finite].mean().item())
        info.stds.append(std.mean().item())
        info.nonfinite_counts.append(int((~finite).sum().item()))
        info.populations.append(candidates.shape[0])
        # Strictly lower: on a tie the earlier candidate stays, so the choice does not flicker.
        if best_cost < info.best_cost:
            info.best_cost = best_cost
            info.best_sequence = candidates[best_index].clone()
            info.best_iteration = iteration


def _check_sequences(name: str, value: torch.Tensor, shape: tuple[int, ...]) -> None:
    if tuple(value.shape) != shape:
        dims = "[H, A]" if len(shape) == 2 else "[k, H, A]"
        raise ValueError(f"`{name}` must have shape {dims} = {list(shape)}. Got {list(value.shape)}.")
    if not torch.isfinite(value).all():
        raise ValueError(f"`{name}` must be finite. Got NaN or inf entries.")


def white_noise(shape: tuple[int, ...], generator, device, dtype) -> torch.Tensor:
    """[N, H, A] independent standard normal samples."""
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


def colored_noise(beta: float, shape: tuple[int, ...], generator, device, dtype) -> torch.Tensor:
    """[N, H, A] Gaussian noise of unit variance whose power spectral density along H falls as 1/f^beta,
    independently per candidate and action dimension; beta = 0 is white noise.

    Drawn in the frequency domain and transformed back, as the `colorednoise` package that iCEM uses:
    each frequency's amplitude is scaled by f^(-beta/2), the constant offset (f = 0) by the lowest
    resolvable frequency's, 1/H. Larger beta puts more of the variance into slow changes, so a sample
    perturbs a stretch of the sequence the same way. Unlike that package, the result is normalised
    exactly, so that a short horizon's samples have unit variance too.
    """
    count, horizon, action_dim = shape
    if horizon == 1:  # only the constant component: nothing to color
        return white_noise(shape, generator, device, dtype)
    frequencies = torch.fft.rfftfreq(horizon, device=device, dtype=dtype).clamp(min=1.0 / horizon)
    scale = frequencies ** (-beta / 2)
    spectrum_shape = (count, action_dim, len(frequencies))
    real = torch.randn(spectrum_shape, generator=generator, device=device, dtype=dtype) * scale
    imaginary = torch.randn(spectrum_shape, generator=generator, device=device, dtype=dtype) * scale
    # A real signal has real components at f = 0 and (even H) at the Nyquist frequency; sqrt(2) gives
    # them the power of the other frequencies' two parts.
    real_only = [0, len(frequencies) - 1] if horizon % 2 == 0 else [0]
    imaginary[..., real_only] = 0
    real[..., real_only] *= math.sqrt(2)
    # Each step's variance: every component's power, counted twice for the frequencies whose mirror
    # image (negative frequency) is implied.
    power = 2 * scale.square()
    power[real_only] /= 2
    sigma = (2 * power.sum()).sqrt() / horizon
    signal = torch.fft.irfft(torch.complex(real, imaginary), n=horizon, dim=-1) / sigma
    return signal.transpose(1, 2).contiguous()  # [N, A, H] -> [N, H, A]


def elite_weights(
    candidates: torch.Tensor, costs: torch.Tensor, elites: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The `elites` lowest-cost candidates [K, H, A] and their weights [K]: equal, but 0 for a non-finite
    cost (when fewer than K costs are finite), so those never pull the mean."""
    elite_costs, elite_index = torch.topk(costs, elites, largest=False)
    return candidates[elite_index], torch.isfinite(elite_costs).to(candidates.dtype)


def exponential_weights(
    candidates: torch.Tensor, costs: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every candidate [N, H, A] and its MPPI weight [N]: exp(-(cost - best) / (temperature x range)),
    normalised to sum to one; range is the spread of the finite costs, so the temperature does not
    depend on the cost's scale. Non-finite costs weigh 0."""
    finite = torch.isfinite(costs)
    best = costs[finite].min()
    spread = costs[finite].max() - best
    spread = torch.where(spread > 0, spread, torch.ones_like(spread))  # all equal: uniform weights
    return candidates, torch.softmax(-(costs - best) / (temperature * spread), dim=0)


def fit_gaussian(mean, std, points, weights, momentum: float, floor) -> tuple[torch.Tensor, torch.Tensor]:
    """Refit mean/std [H, A] to `points` [K, H, A] weighted by `weights` [K], blended with the old ones
    by `momentum`, std floored."""
    weights = (weights / weights.sum())[:, None, None]
    fitted_mean = (weights * points).sum(dim=0)
    fitted_std = (weights * (points - fitted_mean) ** 2).sum(dim=0).sqrt()
    mean = momentum * mean + (1 - momentum) * fitted_mean
    std = torch.maximum(momentum * std + (1 - momentum) * fitted_std, floor)
    return mean, std


def lowest_cost(candidates: torch.Tensor, costs: torch.Tensor, count: int) -> torch.Tensor:
    """[k, H, A] the (at most) `count` finite-cost candidates of lowest cost, best first."""
    count = min(count, int(torch.isfinite(costs).sum()))
    return candidates[torch.topk(costs, count, largest=False).indices]
