"""Causal action guidance: classifier-free guidance on the most recent action (Vid2World, section 5)."""

from __future__ import annotations

import torch


def guidance_action_mask(action_mask: torch.Tensor, new_frames: int = 1) -> torch.Tensor:
    """[B, F] -> [2B, F]: the conditional masks, then the same masks without the actions that lead to the
    last `new_frames` frames (the ones being generated).

    One new frame (the autoregressive step): the newest frame is the last one and is conditioned on
    action index F-2; only that most recent action is dropped, so the history is the same in both
    halves. Several new frames generated together: each one's leading action is dropped.
    """
    if action_mask.ndim != 2 or action_mask.shape[1] < 2:
        raise ValueError(f"`action_mask` must be [B, F] with F >= 2. Got {tuple(action_mask.shape)}.")
    if not 1 <= new_frames < action_mask.shape[1]:
        raise ValueError(f"`new_frames` must be in [1, {action_mask.shape[1] - 1}]. Got {new_frames}.")
    uncond = action_mask.clone()
    uncond[:, -new_frames - 1 : -1] = False
    return torch.cat([action_mask, uncond], dim=0)


def guided_prediction(
    cond: torch.Tensor, uncond: torch.Tensor, scale: float, rescale: float = 0.0
) -> torch.Tensor:
    """eps_u + s (eps_c - eps_u), optionally rescaled toward the conditional prediction's spread.

    Args:
        cond, uncond: [B, ...] predictions with and without the most recent action.
        scale: s; 1 gives the conditional prediction, s > 1 strengthens the action's effect.
        rescale: phi of Lin et al. (2024), 0 disables; it counters the over-saturation of large s.
    """
    guided = uncond + scale * (cond - uncond)
    if rescale > 0:
        dims = tuple(range(1, cond.ndim))
        ratio = cond.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True).clamp_min(1e-8)
        guided = rescale * guided * ratio + (1 - rescale) * guided
    return guided
