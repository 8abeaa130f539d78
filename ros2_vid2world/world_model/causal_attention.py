"""Attention processor that makes attention across frames causal."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention


class CausalTemporalAttnProcessor:
    """Self-attention over frames, [B*S, F, C] -> [B*S, F, C], where frame t attends to frames 0..t.

    Installed on the temporal self-attention of each spatio-temporal transformer block: the
    pre-trained projections are reused as they are; only the lower-triangular mask is new.
    """

    def __call__(
        self,
        attn: Attention,
        hidden_states: torch.Tensor,
        encoder_hidden_states: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        temb: torch.Tensor | None = None,
        **kwargs,
    ) -> torch.Tensor:
        if encoder_hidden_states is not None or attention_mask is not None:
            raise ValueError(
                "CausalTemporalAttnProcessor serves temporal self-attention only: "
                "`encoder_hidden_states` and `attention_mask` must be None."
            )
        if attn.spatial_norm is not None or attn.group_norm is not None:
            raise ValueError("CausalTemporalAttnProcessor does not support spatial_norm or group_norm.")
        residual = hidden_states
        batch, frames, _ = hidden_states.shape
        query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query, key, value = (
            x.view(batch, -1, attn.heads, head_dim).transpose(1, 2) for x in (query, key, value)
        )
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        hidden_states = F.scaled_dot_product_attention(query, key, value, is_causal=True, scale=attn.scale)
        hidden_states = hidden_states.transpose(1, 2).reshape(batch, frames, attn.heads * head_dim)
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states.to(query.dtype)))
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor
