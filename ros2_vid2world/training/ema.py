"""Exponential moving average of a model's weights, kept as a model of the same class."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMAWeights:
    """A frozen copy of `model` whose weights trail the trained ones.

    The decay ramps up as (1 + step) / (10 + step), capped at `decay`, so the average is not stuck
    near the random initialisation early in a run.
    """

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        decay = min(self.decay, (1 + step) / (10 + step))
        averaged = [p for p in self.model.parameters()]
        trained = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(averaged, trained, 1.0 - decay)
