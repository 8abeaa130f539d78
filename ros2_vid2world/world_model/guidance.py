"""Causal action guidance: classifier-free guidance on the most recent action (Vid2World, section 5)."""

from __future__ import annotations

import torch


def guidance_action_mask(action_mask: torch.Tensor) -> torch.Tensor:
    """[B, F] -> [2B, F]: the conditional masks, then the same masks with the most recent action dropped.

    The newest frame is the last one and is conditioned on action index F-2; only that action is
    dropped in the unconditional half, so the history is the same in both halves.
    """
    if action_mask.ndim != 2 or action_mask.shape[1] < 2:
        raise ValueError(f"`action_mask` must be [B, F] with F >= 2. Got {tuple(action_mask.shape)}.")
    uncond = action_mask.clone()
    uncond[:, -2] = False
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
