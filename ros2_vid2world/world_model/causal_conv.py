"""Causal temporal convolution and the three ways to fill it from a pre-trained non-causal kernel."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..choices import WEIGHT_TRANSFERS
from .frame_cache import FrameCache


def check_weight_transfer(weight_transfer: str) -> str:
    if weight_transfer not in WEIGHT_TRANSFERS:
        raise ValueError(
            f"`weight_transfer` must be one of {list(WEIGHT_TRANSFERS)}. Got {weight_transfer!r}."
        )
    return weight_transfer


def causal_kernel(weight: torch.Tensor, weight_transfer: str) -> torch.Tensor:
    """Map a centred temporal kernel to a causal one.

    Args:
        weight: Conv3d weight [out, in, 3, kh, kw] whose temporal taps are (t-1, t, t+1).

    Returns:
        Weight of the same shape whose taps are (t-2, t-1, t).

    `extrapolative` replaces the unseen frame t+1 by 2 z_t - z_{t-1}, so a signal linear in time gives
    the original output; `masked` drops the future tap; `shift` reuses the kernel one frame late.
    """
    check_weight_transfer(weight_transfer)
    if weight.ndim != 5 or weight.shape[2] != 3:
        raise ValueError(
            f"`weight` must be a Conv3d kernel [out, in, 3, kh, kw]. Got shape {tuple(weight.shape)}."
        )
    w_past, w_now, w_next = weight.unbind(dim=2)
    if weight_transfer == "shift":
        return weight.clone()
    zero = torch.zeros_like(w_past)
    if weight_transfer == "masked":
        return torch.stack([zero, w_past, w_now], dim=2)
    return torch.stack([zero, w_past - w_next, w_now + 2 * w_next], dim=2)


class CausalTemporalConv(nn.Conv3d):
    """A Conv3d over [B, C, F, H, W] whose output at frame t sees frames t-k+1..t only.

    The time axis is left-padded with zeros (the frames before the clip); height and width keep the
    padding of the convolution it replaces. Parameter names match nn.Conv3d, so a causalized U-Net
    loads a state dict like the one it came from.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int, int],
        spatial_padding: tuple[int, int] = (0, 0),
        bias: bool = True,
    ):
        super().__init__(in_channels, out_channels, kernel_size, padding=(0, *spatial_padding), bias=bias)
        self.layer = 0  # this layer's key in a FrameCache
        self.cache: FrameCache | None = None  # set by the world model for the duration of a cached call

    @classmethod
    def like(cls, conv: nn.Conv3d) -> CausalTemporalConv:
        """An uninitialised causal convolution with the shape of `conv` (weights are loaded afterwards)."""
        if conv.stride != (1, 1, 1) or conv.dilation != (1, 1, 1) or conv.groups != 1:
            raise ValueError(
                f"only stride-1, undilated, ungrouped temporal convolutions are supported. Got {conv}."
            )
        return cls(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            spatial_padding=conv.padding[1:],
            bias=conv.bias is not None,
        )

    @property
    def receptive_frames(self) -> int:
        return self.kernel_size[0]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        """[B, C, F, H, W] -> [B, C_out, F, H', W'].

        Without a cache the frames before the clip are zeros; with one they are the cached inputs
        of the frames before these.
        """
        needed = self.receptive_frames - 1
        if self.cache is not None:
            past = self.cache.conv_past(self.layer, needed)
            if self.cache.commit:
                self.cache.conv_commit(self.layer, hidden_states, needed)
            if past is not None:
                hidden_states = torch.cat([past, hidden_states], dim=2)
                needed -= past.shape[2]
        if needed:  # a zero-width pad would still copy the input
            hidden_states = F.pad(hidden_states, (0, 0, 0, 0, needed, 0))
        return super().forward(hidden_states)


def is_temporal_conv(module: nn.Module) -> bool:
    """A Conv3d that mixes frames (temporal kernel > 1, no spatial extent)."""
    return (
        isinstance(module, nn.Conv3d)
        and not isinstance(module, CausalTemporalConv)
        and module.kernel_size[0] > 1
        and module.kernel_size[1:] == (1, 1)
    )
