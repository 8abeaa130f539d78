"""The per-step denoiser with its frame cache as plain tensors: what is exported to ONNX.

`Vid2WorldModel.forward_cached` reads the past from a `FrameCache` of Python lists and dicts. An
exported graph takes tensors only, so here the past is one tensor per layer and kind:

    past_key.i, past_value.i  [N, S, heads, P, d]   temporal-attention keys/values of the P past frames
    past_conv.j               [N, C, k-1, H, W]     temporal-conv inputs of the last k-1 frames (zeros
                                                    where the clip has fewer: the conv's own padding)
    first_frame               [N, 1, C, H, W]       image-to-video bases only: the window's first frame

and the call returns, besides the prediction, what this frame adds to that past (`new_key.i`,
`new_value.i` [M, S, heads, 1, d], `new_conv.j` [M, C, 1, H, W]), so that a commit pass appends it.
The batch M of the new frame is N or 2N (guidance: [cond | uncond] reads the same past twice).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..world_model.causal_attention import CausalTemporalAttnProcessor
from ..world_model.causal_conv import CausalTemporalConv
from ..world_model.frame_cache import FrameCache, broadcast_batch
from ..world_model.model import Vid2WorldModel


def tile_batch(tensor: torch.Tensor, batch) -> torch.Tensor:
    """[b, ...] -> [batch, ...] as whole blocks [x0..xb-1, x0..xb-1, ...] (batch = m * b), without a
    Python branch on sizes, so that a traced graph stays valid for every m."""
    return tensor.unsqueeze(0).expand(batch // tensor.shape[0], *tensor.shape).reshape(-1, *tensor.shape[1:])


class FlatFrameCache(FrameCache):
    """A `FrameCache` whose past is one fixed tensor per layer and whose commits are collected, not appended.

    The model reads it exactly like a normal cache; `new_attention` and `new_conv_inputs` then hold the
    new frame's contribution per layer. `frames` may be a traced size, so positions stay dynamic.
    """

    def __init__(
        self,
        frames,
        attention: dict[int, tuple[torch.Tensor, torch.Tensor]],
        conv_inputs: dict[int, torch.Tensor],
        first_frame: torch.Tensor | None = None,
    ):
        super().__init__()
        self.frames = frames
        self.attention = {layer: [key_value] for layer, key_value in attention.items()}
        self.conv_inputs = dict(conv_inputs)
        self.first_frame = first_frame
        self.new_attention: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.new_conv_inputs: dict[int, torch.Tensor] = {}

    def end(self, frames: int) -> None:
        self.batch, self.commit = 0, False  # the past is fixed: nothing to count

    def conv_past(self, layer: int, frames_needed: int) -> torch.Tensor:
        return tile_batch(self.conv_inputs[layer], self.batch)

    def conv_commit(self, layer: int, inputs: torch.Tensor, frames_needed: int) -> None:
        self.new_conv_inputs[layer] = inputs

    def attention_commit(self, layer: int, key: torch.Tensor, value: torch.Tensor) -> None:
        self.new_attention[layer] = (key, value)


@dataclass(frozen=True)
class DenoiserLayout:
    """Names and shapes of the exported denoiser's inputs and outputs, read off a model.

    attention: per temporal-attention layer, (cache layer, (S, heads, head_dim)).
    convs: per temporal convolution, (cache layer, (C, k-1, H, W)).
    Symbolic sizes: "M" the call's batch, "N" the past's batch, "P" the number of past frames.
    """

    frame_shape: tuple[int, int, int]
    action_dim: int
    attention: tuple[tuple[int, tuple[int, int, int]], ...]
    convs: tuple[tuple[int, tuple[int, int, int, int]], ...]
    first_frame: bool

    @classmethod
    @torch.no_grad()
    def of(cls, model: Vid2WorldModel) -> DenoiserLayout:
        """Probe the model with one frame to learn every layer's cached shape."""
        size = model.unet.config.sample_size
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        parameter = next(model.parameters())
        frame = torch.zeros(1, 1, model.sample_channels, height, width, dtype=parameter.dtype)
        actions = torch.zeros(1, 1, model.config.action_dim, dtype=parameter.dtype)
        probe = FrameCache()
        model.forward_cached(
            frame.to(parameter.device),
            torch.zeros(1, 1, dtype=torch.long, device=parameter.device),
            actions.to(parameter.device),
            torch.zeros(1, 1, dtype=torch.bool, device=parameter.device),
            probe,
            commit=True,
        )
        attention, convs = [], []
        for layer, user in enumerate(model.cache_users):
            if isinstance(user, CausalTemporalAttnProcessor):
                _, spatial, heads, _, head_dim = probe.attention[layer][0][0].shape
                attention.append((layer, (spatial, heads, head_dim)))
            elif isinstance(user, CausalTemporalConv):
                _, channels, _, h, w = probe.conv_inputs[layer].shape
                convs.append((layer, (channels, user.receptive_frames - 1, h, w)))
        return cls(
            frame_shape=(model.sample_channels, height, width),
            action_dim=model.config.action_dim,
            attention=tuple(attention),
            convs=tuple(convs),
            first_frame=model.unet.config.in_channels > model.sample_channels,
        )

    def input_shapes(self) -> dict[str, list]:
        shapes = {
            "sample": ["M", 1, *self.frame_shape],
            "timestep": ["M", 1],
            "led_to_action": ["M", 1, self.action_dim],
            "keep": ["M", 1],
        }
        if self.first_frame:
            shapes["first_frame"] = ["N", 1, *self.frame_shape]
        for i, (_, (spatial, heads, head_dim)) in enumerate(self.attention):
            shapes[f"past_key.{i}"] = shapes[f"past_value.{i}"] = ["N", spatial, heads, "P", head_dim]
        for j, (_, (channels, frames, h, w)) in enumerate(self.convs):
            shapes[f"past_conv.{j}"] = ["N", channels, frames, h, w]
        return shapes

    def output_shapes(self) -> dict[str, list]:
        shapes = {"prediction": ["M", 1, *self.frame_shape]}
        for i, (_, (spatial, heads, head_dim)) in enumerate(self.attention):
            shapes[f"new_key.{i}"] = shapes[f"new_value.{i}"] = ["M", spatial, heads, 1, head_dim]
        for j, (_, (channels, _, h, w)) in enumerate(self.convs):
            shapes[f"new_conv.{j}"] = ["M", channels, 1, h, w]
        return shapes

    def flatten(self, cache: FrameCache, count: int) -> dict[str, torch.Tensor]:
        """A filled `FrameCache` (any mix of batch-1 and batch-`count` entries) -> the past inputs for a
        batch of `count`: segments tiled to `count` and joined, conv inputs zero-padded to k-1 frames."""
        if cache.frames == 0:
            raise ValueError("the frame cache is empty: the denoiser needs at least one past frame.")
        past = {}
        if self.first_frame:
            past["first_frame"] = broadcast_batch(cache.first_frame, count)
        for i, (layer, _) in enumerate(self.attention):
            segments = cache.attention_past(layer)
            for j, kind in enumerate(("key", "value")):
                past[f"past_{kind}.{i}"] = torch.cat([broadcast_batch(s[j], count) for s in segments], dim=3)
        for j, (layer, (_, frames, _, _)) in enumerate(self.convs):
            conv = broadcast_batch(cache.conv_inputs[layer], count)[:, :, -frames:]
            past[f"past_conv.{j}"] = F.pad(conv, (0, 0, 0, 0, frames - conv.shape[2], 0))
        return {name: tensor.contiguous() for name, tensor in past.items()}

    def describe(self) -> str:
        c, h, w = self.frame_shape
        return (
            f"frames [{c}, {h}, {w}], action_dim {self.action_dim}, {len(self.attention)} temporal-attention "
            f"and {len(self.convs)} temporal-conv layers"
        )


class CachedFrameDenoiser(nn.Module):
    """`Vid2WorldModel.forward_cached` for one new frame, with the past as flat tensors (see module doc).

    forward(sample [M, 1, C, H, W], timestep [M, 1] int64, led_to_action [M, 1, A], keep [M, 1] bool,
    [first_frame,] past_key.0, past_value.0, ..., past_conv.0, ...) -> (prediction [M, 1, C, H, W],
    new_key.0, new_value.0, ..., new_conv.0, ...), in `DenoiserLayout` order.
    """

    def __init__(self, model: Vid2WorldModel, layout: DenoiserLayout | None = None):
        super().__init__()
        self.model = model
        self.layout = layout or DenoiserLayout.of(model)

    def forward(self, sample, timestep, led_to_action, keep, *past: torch.Tensor) -> tuple[torch.Tensor, ...]:
        layout = self.layout
        past = list(past)
        first_frame = past.pop(0) if layout.first_frame else None
        kv = past[: 2 * len(layout.attention)]
        convs = past[2 * len(layout.attention) :]
        attention = {layer: (kv[2 * i], kv[2 * i + 1]) for i, (layer, _) in enumerate(layout.attention)}
        conv_inputs = {layer: conv for (layer, _), conv in zip(layout.convs, convs, strict=True)}
        # Every attention layer has seen every past frame: its key length is the frame position.
        frames = kv[0].shape[3] if kv else 0
        cache = FlatFrameCache(frames, attention, conv_inputs, first_frame)
        prediction = self.model.forward_cached(sample, timestep, led_to_action, keep, cache, commit=True)
        outputs = [prediction]
        for layer, _ in layout.attention:
            outputs.extend(cache.new_attention[layer])
        outputs.extend(cache.new_conv_inputs[layer] for layer, _ in layout.convs)
        return tuple(outputs)
