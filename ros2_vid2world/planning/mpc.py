"""Receding-horizon planning: optimise an action sequence by imagination, execute its first action, replan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from .cem import CEM, CEMConfig, CEMInfo, finite_costs
from .costs import CompositeCost, CostContext, CostTerm

ImagineFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class MPCConfig:
    """MPC settings.

    horizon: decision steps planned ahead (H); must equal cem.horizon.
    cem: the optimiser's settings (population, elites, iterations, bounds, ...).
    action_repeat: model steps each decision step is held for (r); the model imagines H * r frames.
    warm_start: start each plan from the previous one, shifted by one decision step.
    """

    horizon: int
    cem: CEMConfig
    action_repeat: int = 1
    warm_start: bool = True

    def __post_init__(self):
        if not isinstance(self.cem, CEMConfig):
            raise ValueError(f"`cem` must be a CEMConfig. Got {type(self.cem).__name__}.")
        if self.horizon != self.cem.horizon:
            raise ValueError(f"`horizon` must equal `cem.horizon` = {self.cem.horizon}. Got {self.horizon}.")
        if not isinstance(self.action_repeat, int) or self.action_repeat < 1:
            raise ValueError(f"`action_repeat` must be an integer >= 1. Got {self.action_repeat!r}.")


@dataclass
class PlanResult:
    """One decision.

    action: [A] to execute now (sequence[0]).
    sequence: [H, A] the best action sequence scored during the optimisation, one row per decision step.
    imagined: [H * r, C, h, w] the latents imagined for `sequence` (frame k follows model step k).
    cost: the total cost of `sequence`.
    info: the optimiser's diagnostics.
    cost_terms: {term name: per-iteration mean weighted cost over the population}.
    """

    action: torch.Tensor
    sequence: torch.Tensor
    imagined: torch.Tensor
    cost: float
    info: CEMInfo
    cost_terms: dict[str, list[float]] = field(default_factory=dict)


class MPCPlanner:
    """Plans by imagination: CEM proposes action sequences, `imagine` rolls them out, `cost` scores them.

    `imagine(candidates [N, H * r, A]) -> latents [N, H * r, C, h, w]` is any callable; the caller binds
    the history (e.g. with functools.partial). The planner returns the best sequence it scored (not the
    final CEM mean, which was never imagined), so `imagined` and `cost` describe exactly what is planned.

    The only state kept between plans is the warm start; call `reset()` when the episode or goal changes.
    """

    def __init__(
        self,
        imagine: ImagineFn,
        cost: CompositeCost | CostTerm,
        config: MPCConfig,
        device: str | torch.device = "cpu",
    ):
        self.imagine = imagine
        self.cost = CompositeCost([cost]) if isinstance(cost, CostTerm) else cost
        self.config = config
        self.device = torch.device(device)
        self.cem = CEM.from_config(config.cem)
        # [H, A] the previous plan shifted by one step, where the next plan starts; None = cold start.
        self.warm_start: torch.Tensor | None = None
        # [k, H, A] icem: the previous plan's kept elites, shifted by one step like the warm start.
        self.kept_elites: torch.Tensor | None = None

    def reset(self) -> None:
        """Forget the warm start: the next plan starts from the middle of the bounds."""
        self.warm_start = self.kept_elites = None

    def _imagine(self, model_actions: torch.Tensor) -> torch.Tensor:
        """[N, H * r, A] -> [N, H * r, C, h, w], checked so a wrong model is reported here, not by a cost."""
        latents = self.imagine(model_actions)
        expected = tuple(model_actions.shape[:2])
        if not isinstance(latents, torch.Tensor) or latents.ndim != 5 or tuple(latents.shape[:2]) != expected:
            got = list(latents.shape) if isinstance(latents, torch.Tensor) else type(latents).__name__
            raise ValueError(
                f"imagine must return latents [N, H * r, C, h, w] = [{expected[0]}, {expected[1]}, C, h, w]. "
                f"Got {got}."
            )
        return latents

    def plan(self, context: CostContext | None = None, shift: int = 1) -> PlanResult:
        """Optimise the next H decision steps and return the action to execute now.

        shift: decision steps of the previous plan that have run (or will have) when this one takes
        effect; the warm start is the previous plan shifted by that many (1: one step per decision).

        Raises:
            PlanningError: imagine or the cost raised (including imagine returning the wrong shape).
            ValueError: every candidate of an iteration got a NaN/inf cost.
        """
        context = context or CostContext()
        repeat = self.config.action_repeat
        # Per iteration, the imagined latents of that iteration's best candidate: [H * r, C, h, w] each.
        winners: list[torch.Tensor] = []
        cost_terms: dict[str, list[float]] = {}

        def score(candidates: torch.Tensor) -> torch.Tensor:
            model_actions = candidates.repeat_interleave(repeat, dim=1)  # [N, H * r, A]
            latents = self._imagine(model_actions)
            # The cost sees model steps, aligned in time with the latents.
            total, means = self.cost(latents, model_actions, context)
            for name, value in means.items():
                cost_terms.setdefault(name, []).append(value)
            # The same rule CEM ranks by, so winners[info.best_iteration] belongs to info.best_sequence.
            # index_select copies, so the rest of the population's latents can be freed.
            best = torch.argmin(finite_costs(total.to(latents.device))).reshape(1)
            winners.append(latents.index_select(0, best)[0])
            return total

        if not isinstance(shift, int) or shift < 1:
            raise ValueError(f"`shift` must be an integer >= 1. Got {shift!r}.")
        init_mean, kept = (self.warm_start, self.kept_elites) if self.config.warm_start else (None, None)
        if shift > 1:
            init_mean, kept = (None if s is None else shift_sequence(s, shift - 1) for s in (init_mean, kept))
        _, info = self.cem.optimize(score, init_mean=init_mean, device=self.device, kept_elites=kept)
        sequence = info.best_sequence
        if self.config.warm_start:
            self.warm_start = shift_sequence(sequence)
            self.kept_elites = None if info.kept_elites is None else shift_sequence(info.kept_elites)
        return PlanResult(
            action=sequence[0].clone(),
            sequence=sequence,
            imagined=winners[info.best_iteration],
            cost=info.best_cost,
            info=info,
            cost_terms=cost_terms,
        )


def shift_sequence(sequence: torch.Tensor, steps: int = 1) -> torch.Tensor:
    """[..., H, A] -> [..., H, A]: drop the executed first `steps` and repeat the last one at the end.

    Repeating (not zero-padding) keeps the tail of the warm start a plausible continuation of the plan.
    """
    steps = min(steps, sequence.shape[-2] - 1)
    if steps <= 0:
        return sequence.clone()
    tail = sequence[..., -1:, :].expand(*sequence.shape[:-2], steps, -1)
    return torch.cat([sequence[..., steps:, :], tail], dim=-2)
