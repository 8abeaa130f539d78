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

    def forward(self, actions: torch.Tensor, action_mask: torch.Tensor) -> torch.Tensor:
        """Embed the action that led to each frame.

        Args:
            actions: [B, F, A]; actions[:, t] is taken after frame t, so it conditions frame t+1.
            action_mask: [B, F] bool; False drops that action (replaced by "no action").

        Returns:
            [B, F, D]; frame 0 always gets "no action".
        """
        led_to = actions[:, :-1]
        keep = action_mask[:, :-1, None]
        embedded = torch.where(keep, self.mlp(led_to), self.no_action.to(led_to.dtype))
        first = self.no_action.to(embedded.dtype).expand(actions.shape[0], 1, -1)
        return torch.cat([first, embedded], dim=1)
