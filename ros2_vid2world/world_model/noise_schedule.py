"""The diffusion noise schedule a world model is trained and sampled with."""

from __future__ import annotations

import torch
from diffusers import DDIMScheduler, SchedulerMixin

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")


def make_scheduler(
    prediction_type: str = "epsilon",
    beta_schedule: str = "squaredcos_cap_v2",
    num_train_timesteps: int = 1000,
    rescale_betas_zero_snr: bool = False,
) -> DDIMScheduler:
    """A DDIM scheduler with "trailing" spacing (Vid2World's inference setting).

    Zero terminal SNR leaves no signal at the last timestep, where epsilon prediction cannot recover
    the sample: it needs v-prediction.
    """
    if beta_schedule not in BETA_SCHEDULES:
        raise ValueError(f"`beta_schedule` must be one of {list(BETA_SCHEDULES)}. Got {beta_schedule!r}.")
    if rescale_betas_zero_snr and prediction_type != "v_prediction":
        raise ValueError(
            f"`rescale_betas_zero_snr` needs prediction_type 'v_prediction'. Got {prediction_type!r}."
        )
    return DDIMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        prediction_type=prediction_type,
        rescale_betas_zero_snr=rescale_betas_zero_snr,
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=True,
    )


def alphas_cumprod_at(scheduler: SchedulerMixin, timesteps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """alpha_bar at per-frame `timesteps` [B, F], shaped to broadcast against `like` [B, F, C, H, W]."""
    alpha_bar = scheduler.alphas_cumprod.to(device=like.device)[timesteps.long()]
    return alpha_bar.to(like.dtype).view(*timesteps.shape, *([1] * (like.ndim - timesteps.ndim)))


def add_noise(
    scheduler: SchedulerMixin, clean: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    """Noise every frame of `clean` [B, F, ...] to its own level `timesteps` [B, F]."""
    alpha_bar = alphas_cumprod_at(scheduler, timesteps, clean)
    return alpha_bar.sqrt() * clean + (1 - alpha_bar).sqrt() * noise


def prediction_target(
    prediction_type: str, clean: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """What the model regresses: the noise, or v = sqrt(alpha_bar) noise - sqrt(1 - alpha_bar) clean."""
    if prediction_type == "epsilon":
        return noise
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean


def noise_to_level(
    scheduler: SchedulerMixin, frames: torch.Tensor, level: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Noise every frame of [B, F, ...] once to the same small level (how frames enter a context)."""
    noise = torch.randn(frames.shape, generator=generator, device=frames.device, dtype=frames.dtype)
    levels = torch.full(frames.shape[:2], level, dtype=torch.long, device=frames.device)
    return add_noise(scheduler, frames, noise, levels)
