"""GroupNorm that computes its statistics per frame."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class FrameGroupNorm(nn.GroupNorm):
    """GroupNorm over [B, C, F, H, W] with statistics per (sample, frame).

    The temporal ResBlocks of video U-Nets normalise a 5-D tensor, so their mean and variance pool
    over every frame of the clip: the future leaks into the past through the statistics. Normalising
    each frame on its own closes that leak and keeps the learned scale and shift unchanged.
    """

    @classmethod
    def like(cls, norm: nn.GroupNorm) -> FrameGroupNorm:
        return cls(norm.num_groups, norm.num_channels, eps=norm.eps, affine=norm.affine)

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        if hidden_states.ndim != 5:
            return super().forward(hidden_states)
        batch, channels, frames, height, width = hidden_states.shape
        per_frame = hidden_states.transpose(1, 2).reshape(batch * frames, channels, height, width)
        per_frame = F.group_norm(per_frame, self.num_groups, self.weight, self.bias, self.eps)
        return per_frame.reshape(batch, frames, channels, height, width).transpose(1, 2)
