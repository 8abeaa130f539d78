"""Attention processor that makes attention across frames causal, with an optional frame cache."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.models.attention_processor import Attention

from .frame_cache import FrameCache


class CausalTemporalAttnProcessor:
    """Self-attention over frames, [B*S, F, C] -> [B*S, F, C], where frame t attends to frames 0..t.

    Installed on the temporal self-attention of each spatio-temporal transformer block: the
    pre-trained projections are reused as they are; only the lower-triangular mask is new. During a
    cached call (`cache` set) the new frames also attend to the keys and values of every cached
    frame; a cached history of batch 1 is read by broadcasting, never copied per candidate.
    """

    def __init__(self, layer: int = 0):
        self.layer = layer
        self.cache: FrameCache | None = None

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
        rows, frames, _ = hidden_states.shape
        query, key, value = attn.to_q(hidden_states), attn.to_k(hidden_states), attn.to_v(hidden_states)
        head_dim = key.shape[-1] // attn.heads
        query, key, value = (
            x.view(rows, frames, attn.heads, head_dim).transpose(1, 2) for x in (query, key, value)
        )
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        if self.cache is None:
            hidden_states = F.scaled_dot_product_attention(
                query, key, value, is_causal=True, scale=attn.scale
            )
        else:
            hidden_states = self._attend_with_cache(query, key, value, attn.scale)
        hidden_states = hidden_states.transpose(1, 2).reshape(rows, frames, attn.heads * head_dim)
        hidden_states = attn.to_out[1](attn.to_out[0](hidden_states.to(query.dtype)))
        if attn.residual_connection:
            hidden_states = hidden_states + residual
        return hidden_states / attn.rescale_output_factor

    def _attend_with_cache(
        self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scale: float
    ) -> torch.Tensor:
        """[B*S, heads, n, d] new-frame projections -> [B*S, heads, n, d], attending to cache + themselves."""
        cache = self.cache
        batch = cache.batch
        rows, heads, frames, head_dim = query.shape
        spatial = rows // batch
        # [B, S, heads, n, d]: the batch axis leads, so cached segments of batch b divide it as (B/b, b).
        query, key, value = (x.view(batch, spatial, heads, frames, head_dim) for x in (query, key, value))
        segments = list(cache.attention_past(self.layer))  # before this call's commit
        if cache.commit:
            cache.attention_commit(self.layer, key, value)

        scores = [
            _blocked(query, k_seg, lambda q, k: q @ k.transpose(-1, -2)) * scale for k_seg, _ in segments
        ]
        own = (query @ key.transpose(-1, -2)) * scale
        future = torch.ones(frames, frames, dtype=torch.bool, device=query.device).triu(1)
        scores.append(own.masked_fill(future, float("-inf")))
        weights = torch.softmax(torch.cat(scores, dim=-1), dim=-1).split(
            [s.shape[-1] for s in scores], dim=-1
        )
        out = weights[-1] @ value
        for weight, (_, v_seg) in zip(weights[:-1], segments, strict=True):
            out = out + _blocked(weight, v_seg, torch.matmul)
        return out.view(rows, heads, frames, head_dim)


def _blocked(left: torch.Tensor, right: torch.Tensor, op) -> torch.Tensor:
    """Apply `op` between left [B, ...] and right [b, ...] with B = m * b, broadcasting right over m."""
    batch, size = left.shape[0], right.shape[0]
    out = op(left.view(batch // size, size, *left.shape[1:]), right.unsqueeze(0))
    return out.view(batch, *out.shape[2:])
