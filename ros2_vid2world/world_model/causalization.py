"""Turn a pre-trained, bidirectional video U-Net into a causal world model."""

from __future__ import annotations

import torch
from diffusers import UNetSpatioTemporalConditionModel

from .causal_conv import CausalTemporalConv, causal_kernel, check_weight_transfer
from .causal_unet import SUPPORTED_BASES
from .model import Vid2WorldModel


def base_unet_config(unet: UNetSpatioTemporalConditionModel) -> dict:
    """The U-Net's own config, without diffusers' bookkeeping keys, as plain JSON values."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in unet.config.items() if not k.startswith("_")
    }


def causalize(
    unet: UNetSpatioTemporalConditionModel,
    *,
    action_dim: int,
    weight_transfer: str = "extrapolative",
    **world_model_kwargs,
) -> Vid2WorldModel:
    """Build a `Vid2WorldModel` from a pre-trained video U-Net (Vid2World, section 1-2 and 4).

    Every spatial weight is copied unchanged; every temporal convolution kernel is made causal by
    `weight_transfer` ("extrapolative", "masked" or "shift"); the action embedding starts at zero, so
    the result initially computes what the base computed, made causal.

    Args:
        unet: A `UNetSpatioTemporalConditionModel` (e.g. Stable Video Diffusion's U-Net).
        action_dim: Size of one action vector.
        weight_transfer: See `causal_kernel`.
        world_model_kwargs: Further `Vid2WorldModel` settings (prediction_type, max_frames, ...).
    """
    if not isinstance(unet, SUPPORTED_BASES):
        raise ValueError(
            f"`unet` must be one of {[c.__name__ for c in SUPPORTED_BASES]}. Got {type(unet).__name__}."
        )
    check_weight_transfer(weight_transfer)
    world_model_kwargs.setdefault("max_frames", unet.config.num_frames)
    model = Vid2WorldModel(
        unet_config=base_unet_config(unet),
        action_dim=action_dim,
        weight_transfer=weight_transfer,
        **world_model_kwargs,
    )
    state = unet.state_dict()
    for name, module in model.unet.named_modules():
        if isinstance(module, CausalTemporalConv):
            state[f"{name}.weight"] = causal_kernel(state[f"{name}.weight"], weight_transfer)
    model.unet.load_state_dict(state, strict=True)
    parameter = next(unet.parameters())
    model.to(parameter.device)
    return model if parameter.dtype == torch.float32 else model.to(parameter.dtype)
