"""Rewire a diffusers spatio-temporal U-Net so that no frame sees a later one."""

from __future__ import annotations

import torch
from diffusers import UNetSpatioTemporalConditionModel
from diffusers.models.attention import TemporalBasicTransformerBlock
from diffusers.models.embeddings import Timesteps
from diffusers.models.resnet import TemporalResnetBlock
from diffusers.models.transformers.transformer_temporal import TransformerSpatioTemporalModel
from torch import nn

from .causal_attention import CausalTemporalAttnProcessor
from .causal_conv import CausalTemporalConv, is_temporal_conv
from .frame_cache import FrameCache
from .frame_norm import FrameGroupNorm

SUPPORTED_BASES = (UNetSpatioTemporalConditionModel,)


class FramePositions(Timesteps):
    """The sinusoidal frame-position projection of a spatio-temporal transformer, offset by the
    number of cached frames, so that new frames keep their place in the clip."""

    def __init__(self, like: Timesteps):
        super().__init__(like.num_channels, like.flip_sin_to_cos, like.downscale_freq_shift, like.scale)
        self.cache: FrameCache | None = None

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        return super().forward(positions if self.cache is None else positions + self.cache.frames)


def make_unet_causal(unet: nn.Module) -> list:
    """Replace, in place, every operator that mixes frames by its causal counterpart.

    Temporal convolutions become `CausalTemporalConv` (uninitialised: the caller loads or transfers
    weights), the GroupNorms of temporal ResBlocks normalise per frame, and every temporal
    self-attention gets a causal mask. Spatial layers are not touched.

    Returns:
        The objects that read a `FrameCache` during cached calls (each has a `cache` attribute).
    """
    if not isinstance(unet, SUPPORTED_BASES):
        raise ValueError(
            f"`unet` must be one of {[c.__name__ for c in SUPPORTED_BASES]}. Got {type(unet).__name__}."
        )
    cache_users = []
    for parent in list(unet.modules()):
        for child_name, child in list(parent.named_children()):
            if is_temporal_conv(child):
                conv = CausalTemporalConv.like(child)
                conv.layer = len(cache_users)
                setattr(parent, child_name, conv)
                cache_users.append(conv)
        if isinstance(parent, TemporalResnetBlock):
            parent.norm1 = FrameGroupNorm.like(parent.norm1)
            parent.norm2 = FrameGroupNorm.like(parent.norm2)
        if isinstance(parent, TemporalBasicTransformerBlock):
            processor = CausalTemporalAttnProcessor(layer=len(cache_users))
            parent.attn1.set_processor(processor)
            cache_users.append(processor)
        if isinstance(parent, TransformerSpatioTemporalModel):
            parent.time_proj = FramePositions(parent.time_proj)
            cache_users.append(parent.time_proj)
    if not any(isinstance(user, CausalTemporalConv) for user in cache_users):
        raise ValueError(f"found no temporal convolution in {type(unet).__name__}: is it a video U-Net?")
    return cache_users
