"""Per-frame action embedding added to the U-Net's time embedding."""

from __future__ import annotations

import torch
from torch import nn


class ActionEmbedding(nn.Module):
    """Linear(A, hidden) - SiLU - Linear(hidden, D) - SiLU - Linear(D, D), plus a learned "no action".

    The last layer and the "no action" vector start at zero, so a freshly causalized model computes
    exactly what the pre-trained U-Net did until fine-tuning teaches it what actions mean.
    """

    def __init__(self, action_dim: int, hidden_dim: int, embed_dim: int):
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(action_dim, hidden_dim),
            nn.SiLU(),
            nn.Linear(hidden_dim, embed_dim),
            nn.SiLU(),
            nn.Linear(embed_dim, embed_dim),
        )
        nn.init.zeros_(self.mlp[-1].weight)
        nn.init.zeros_(self.mlp[-1].bias)
        self.no_action = nn.Parameter(torch.zeros(embed_dim))

    def forward(self, led_to: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Embed, for each frame, the action that led to it.

        Args:
            led_to: [B, F, A]; led_to[:, t] is the action taken just before frame t.
            keep: [B, F] bool; False = no action (frame 0 of a clip, or an action dropped).

        Returns:
            [B, F, D].
        """
        return torch.where(keep[..., None], self.mlp(led_to), self.no_action.to(led_to.dtype))


def actions_leading_to_frames(
    actions: torch.Tensor, action_mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Re-index actions by the frame they lead to.

    [B, F, A] with actions[:, t] taken after frame t (and its mask [B, F]) -> ([B, F, A], [B, F]) with
    entry t the action taken before frame t; frame 0 has none.
    """
    led_to = torch.cat([torch.zeros_like(actions[:, :1]), actions[:, :-1]], dim=1)
    keep = torch.cat([torch.zeros_like(action_mask[:, :1]), action_mask[:, :-1]], dim=1)
    return led_to, keep
