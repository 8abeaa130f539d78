"""Rewire a diffusers spatio-temporal U-Net so that no frame sees a later one."""

from __future__ import annotations

from diffusers import UNetSpatioTemporalConditionModel
from diffusers.models.attention import TemporalBasicTransformerBlock
from diffusers.models.resnet import TemporalResnetBlock
from torch import nn

from .causal_attention import CausalTemporalAttnProcessor
from .causal_conv import CausalTemporalConv, is_temporal_conv
from .frame_norm import FrameGroupNorm

SUPPORTED_BASES = (UNetSpatioTemporalConditionModel,)


def make_unet_causal(unet: nn.Module) -> list[str]:
    """Replace, in place, every operator that mixes frames by its causal counterpart.

    Temporal convolutions become `CausalTemporalConv` (uninitialised: the caller loads or transfers
    weights), the GroupNorms of temporal ResBlocks normalise per frame, and every temporal
    self-attention gets a causal mask. Spatial layers are not touched.

    Returns:
        The module names of the temporal convolutions that were replaced.
    """
    if not isinstance(unet, SUPPORTED_BASES):
        raise ValueError(
            f"`unet` must be one of {[c.__name__ for c in SUPPORTED_BASES]}. Got {type(unet).__name__}."
        )
    replaced = []
    for parent_name, parent in list(unet.named_modules()):
        for child_name, child in list(parent.named_children()):
            if is_temporal_conv(child):
                setattr(parent, child_name, CausalTemporalConv.like(child))
                replaced.append(f"{parent_name}.{child_name}" if parent_name else child_name)
        if isinstance(parent, TemporalResnetBlock):
            parent.norm1 = FrameGroupNorm.like(parent.norm1)
            parent.norm2 = FrameGroupNorm.like(parent.norm2)
        if isinstance(parent, TemporalBasicTransformerBlock):
            parent.attn1.set_processor(CausalTemporalAttnProcessor())
    if not replaced:
        raise ValueError(f"found no temporal convolution in {type(unet).__name__}: is it a video U-Net?")
    return replaced
