"""The Diffusion Forcing training objective with per-frame action dropout (Vid2World, sections 3 and 5)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import SchedulerMixin

from ..settings import check_settings, setting
from .image_conditioning import ImageConditioning
from .model import Vid2WorldModel
from .noise_schedule import (
    add_noise,
    alphas_cumprod_at,
    level_at_index,
    prediction_target,
    random_levels,
    terminal_level,
)


@dataclass
class DiffusionForcingConfig:
    """action_dropout: probability that a frame's action is replaced by "no action" (enables guidance).

    clean_context_prob: probability that a clip is noised the way a planner uses the model: the frames
    before a random split at small levels in [0, context_timestep] (the sampler gives context frames
    level `history_timestep`, 20 by default), the frames from the split on at independent random
    levels as usual. With independent levels alone, a frame rarely sees a clean past (all 5 earlier
    frames of a 6-frame clip below level 100 once in 10^5 clips), yet every imagined frame of a plan
    is predicted from one; 0 is the plain Diffusion Forcing of the paper. The loss of those clips
    leaves out their context frames (see `_with_clean_contexts`) unless `context_loss` is set: the
    trainer kept them until 2026-12-03, and models/reacher's stage 4 was trained with them, so its
    recipe sets it to make the same model.

    terminal_prob: in those clips, the share of frames from the split on put at the last level (pure
    noise under a zero-terminal-SNR schedule), where every sampled frame starts and where a
    one-step sampler reads its whole prediction. There the input carries nothing, so whatever of it
    reaches the output is error; with uniform levels that level is one draw in a thousand, and an
    undertrained model lets the input noise through (measured on the reacher: prediction error
    correlated -0.5 with the input noise).

    motion_weight: each element's squared error is weighted by 1 + motion_weight * |change|, the
    change being the frame's difference from the clip's previous frame (mean absolute over channels,
    in model space: pixels in [-1, 1], or patches of them), and each frame's loss divided by its mean
    weight. What an action moves can be a small share of the picture: the push task's pusher is 16 of
    4,096 pixels, so an unweighted error of the whole frame barely sees where it went (imagined pushers
    faded to a blur while the frame scored 29 dB against 35 for copying the last frame). 0: unweighted.
    """

    action_dropout: float = setting(
        0.2, "Probability that a frame's action is dropped in training (what guidance needs).",
        low=0.0, below=1.0,
    )
    clean_context_prob: float = setting(
        0.0,
        "Share of transfer clips noised as a planner sees them: a clean past, then noisy frames "
        "(0: plain Diffusion Forcing).",
        low=0.0, high=1.0,
    )
    context_timestep: int = setting(
        20, "Highest noise level of the clean past in those clips.", low=0
    )
    terminal_prob: float = setting(
        0.0,
        "In those clips, the share of noisy frames at the last (pure-noise) level, where sampling starts.",
        low=0.0, high=1.0,
    )
    context_loss: bool = setting(
        False, "Keep the clean past of those clips in the loss (as the trainer did before 2026-12-03).",
    )
    motion_weight: float = setting(
        0.0,
        "Weight of the error where a frame changed from the previous one: 1 + this times the mean "
        "absolute change (0: every element alike).",
        low=0.0,
    )
    log_sigma_mean: float = setting(
        0.7, "Continuous-noise (Stable Video Diffusion) models: mean of ln(sigma) of the training noise."
    )
    log_sigma_std: float = setting(
        1.6, "Continuous-noise models: standard deviation of ln(sigma) of the training noise.", above=0.0
    )

    def __post_init__(self):
        check_settings(self)


def diffusion_forcing_loss(
    model: Vid2WorldModel,
    scheduler: SchedulerMixin,
    clean: torch.Tensor,
    actions: torch.Tensor,
    config: DiffusionForcingConfig | None = None,
    generator: torch.Generator | None = None,
    prediction_type: str | None = None,
    conditioning: ImageConditioning | None = None,
) -> torch.Tensor:
    """Mean squared error of the model's prediction, every frame at its own random noise level.

    For a continuous-noise (EDM) model, the v-prediction error is EDM's loss with its weighting
    lambda(sigma) = (sigma^2 + 1) / sigma^2 (sigma_data = 1): the denoised error is c_out times the
    v error, and lambda c_out^2 = 1.

    Args:
        clean: [B, F, C, H, W] clean frames (model space: pixels in [-1, 1] or scaled latents).
        actions: [B, F, A]; actions[:, t] is taken after frame t.
        prediction_type: defaults to the model's; pass it when `model` is wrapped (e.g. by DDP).
        conditioning: for image-conditioned models, the clip's first frame's (batch B).

    Returns:
        The scalar loss.
    """
    config = config or DiffusionForcingConfig()
    batch, frames = clean.shape[:2]
    device = clean.device
    timesteps = random_levels(
        scheduler, (batch, frames), device, generator, config.log_sigma_mean, config.log_sigma_std
    )
    supervised = torch.ones((batch, frames), dtype=torch.bool, device=device)
    if config.clean_context_prob > 0 and frames > 1:
        timesteps, supervised = _with_clean_contexts(timesteps, config, scheduler, generator)
        if config.context_loss:
            supervised = torch.ones_like(supervised)
    noise = torch.randn(clean.shape, device=device, dtype=clean.dtype, generator=generator)
    keep = torch.rand((batch, frames), device=device, generator=generator) >= config.action_dropout

    noisy = add_noise(scheduler, clean, noise, timesteps)
    alpha_bar = alphas_cumprod_at(scheduler, timesteps, clean)
    target = prediction_target(prediction_type or model.config.prediction_type, clean, noise, alpha_bar)
    extra = {} if conditioning is None else {"conditioning": conditioning}
    prediction = model(noisy, timesteps, actions, action_mask=keep, **extra).sample
    error = F.mse_loss(prediction.float(), target.float(), reduction="none")
    if config.motion_weight > 0:
        weight = 1 + config.motion_weight * motion(clean.float())
        per_frame = (error * weight).flatten(2).mean(2) / weight.flatten(2).mean(2)
    else:
        per_frame = error.flatten(2).mean(2)
    return per_frame[supervised].mean()


def motion(clean: torch.Tensor) -> torch.Tensor:
    """[B, F, C, H, W] -> [B, F, 1, H, W]: mean absolute change over channels from the previous frame (the
    first frame: from itself, 0)."""
    change = torch.zeros_like(clean[:, :, :1])
    change[:, 1:] = (clean[:, 1:] - clean[:, :-1]).abs().mean(2, keepdim=True)
    return change


def _with_clean_contexts(
    timesteps: torch.Tensor,
    config: DiffusionForcingConfig,
    scheduler: SchedulerMixin,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """In a random `clean_context_prob` of the clips, the frames before a random split get small levels
    and a `terminal_prob` share of the frames after it the last level.

    Returns the levels and which frames the loss supervises: not the context frames of those clips.
    They are the planner's given past; their v-target at a small level is nearly all noise, which the
    model can barely see in a clean image, so their error is large, irreducible and useless, and it
    drowned the frames that carry the action (on the reacher, one-step error with the true actions
    against shuffled ones: 0.0082 vs 0.0082 after 500 steps with them, 0.0034 vs 0.0079 after 600
    steps without; copying the last frame 0.0089).
    """
    batch, frames = timesteps.shape
    device = timesteps.device
    chosen = torch.rand(batch, device=device, generator=generator) < config.clean_context_prob
    split = torch.randint(1, frames, (batch, 1), device=device, generator=generator)
    small = torch.randint(0, config.context_timestep + 1, (batch, frames), device=device, generator=generator)
    # Table indices -> levels (the identity for table schedules; c_noise of each entry for EDM).
    table = torch.tensor(
        [level_at_index(scheduler, i) for i in range(config.context_timestep + 1)], dtype=timesteps.dtype
    ).to(device)
    before = torch.arange(frames, device=device)[None] < split
    timesteps = torch.where(chosen[:, None] & before, table[small], timesteps)
    if config.terminal_prob > 0:
        terminal = torch.rand((batch, frames), device=device, generator=generator) < config.terminal_prob
        last = torch.tensor(terminal_level(scheduler), dtype=timesteps.dtype, device=device)
        timesteps = torch.where(chosen[:, None] & ~before & terminal, last, timesteps)
    return timesteps, ~(chosen[:, None] & before)
