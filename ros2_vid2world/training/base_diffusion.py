"""Stage (a): action-free, bidirectional video diffusion, the stand-in for a pre-trained video model.

The base is a plain diffusers `UNetSpatioTemporalConditionModel` trained the way video diffusion
models are: the whole clip at one noise level, every frame seeing every other frame. It gets the
same constant conditioning the world model later supplies (a zero image embedding, the default
added time ids), so the transfer starts from exactly what was learned.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import SchedulerMixin, UNetSpatioTemporalConditionModel

from ..world_model.noise_schedule import add_noise, alphas_cumprod_at, prediction_target, random_levels

# Vid2WorldModel's default `added_time_ids` (fps, motion bucket, noise augmentation of SVD).
ADDED_TIME_IDS = (6.0, 127.0, 0.02)


def video_diffusion_loss(
    unet: UNetSpatioTemporalConditionModel,
    scheduler: SchedulerMixin,
    clean: torch.Tensor,
    prediction_type: str,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Mean squared error of the base's prediction for clips [B, F, C, H, W], one noise level per clip."""
    batch, frames = clean.shape[:2]
    timestep = random_levels(scheduler, (batch,), clean.device, generator)
    timesteps = timestep[:, None].expand(batch, frames)
    noise = torch.randn(clean.shape, device=clean.device, dtype=clean.dtype, generator=generator)
    noisy = add_noise(scheduler, clean, noise, timesteps)
    target = prediction_target(prediction_type, clean, noise, alphas_cumprod_at(scheduler, timesteps, clean))
    config = getattr(unet, "module", unet).config  # `unet` may be wrapped for data parallelism
    context = torch.zeros(batch, 1, config.cross_attention_dim, device=clean.device, dtype=clean.dtype)
    time_ids = torch.tensor(ADDED_TIME_IDS, device=clean.device, dtype=clean.dtype).expand(batch, -1)
    if config.in_channels > clean.shape[2]:
        # An image-to-video base (like Stable Video Diffusion) sees the clip's first frame, clean, in
        # extra channels of every frame.
        noisy = torch.cat([noisy, clean[:, :1].expand(-1, frames, -1, -1, -1)], dim=2)
    prediction = unet(noisy, timestep, encoder_hidden_states=context, added_time_ids=time_ids).sample
    return F.mse_loss(prediction.float(), target.float())
