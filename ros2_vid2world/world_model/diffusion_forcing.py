"""The Diffusion Forcing training objective with per-frame action dropout (Vid2World, sections 3 and 5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import SchedulerMixin

from .model import Vid2WorldModel
from .noise_schedule import add_noise, alphas_cumprod_at, prediction_target


@dataclass
class DiffusionForcingConfig:
    """action_dropout: probability that a frame's action is replaced by "no action" (enables guidance)."""

    action_dropout: float = 0.2

    def __post_init__(self):
        if not 0.0 <= self.action_dropout < 1.0:
            raise ValueError(f"`action_dropout` must be in [0, 1). Got {self.action_dropout}.")


def diffusion_forcing_loss(
    model: Vid2WorldModel,
    scheduler: SchedulerMixin,
    clean: torch.Tensor,
    actions: torch.Tensor,
    config: DiffusionForcingConfig | None = None,
    generator: torch.Generator | None = None,
    prediction_type: str | None = None,
) -> torch.Tensor:
    """Mean squared error of the model's prediction, every frame at its own random noise level.

    Args:
        clean: [B, F, C, H, W] clean frames (model space: pixels in [-1, 1] or scaled latents).
        actions: [B, F, A]; actions[:, t] is taken after frame t.
        prediction_type: defaults to the model's; pass it when `model` is wrapped (e.g. by DDP).

    Returns:
        The scalar loss.
    """
    config = config or DiffusionForcingConfig()
    batch, frames = clean.shape[:2]
    device = clean.device
    num_timesteps = scheduler.config.num_train_timesteps
    timesteps = torch.randint(0, num_timesteps, (batch, frames), device=device, generator=generator)
    noise = torch.randn(clean.shape, device=device, dtype=clean.dtype, generator=generator)
    keep = torch.rand((batch, frames), device=device, generator=generator) >= config.action_dropout

    noisy = add_noise(scheduler, clean, noise, timesteps)
    alpha_bar = alphas_cumprod_at(scheduler, timesteps, clean)
    target = prediction_target(prediction_type or model.config.prediction_type, clean, noise, alpha_bar)
    prediction = model(noisy, timesteps, actions, action_mask=keep).sample
    return F.mse_loss(prediction.float(), target.float())
