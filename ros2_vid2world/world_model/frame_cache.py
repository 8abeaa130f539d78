"""What later frames need from earlier ones, kept so that earlier frames are computed once.

In a causal model the only paths from frame s to a later frame t are the temporal convolutions
(which read the inputs of the previous k-1 frames), the temporal self-attention (which reads the
keys and values of all previous frames), and the frame-position embedding. A `FrameCache` holds
exactly those, per layer, for the frames committed so far. Its entries may have a smaller batch
than the call reading them: a history shared by every candidate is stored once (batch 1), the
candidates' own frames with batch N, and a guidance call of batch 2N reads both by broadcasting.
"""

from __future__ import annotations

import torch


def broadcast_batch(tensor: torch.Tensor, batch: int) -> torch.Tensor:
    """[b, ...] -> [batch, ...] by tiling whole blocks of b (batch = m * b): [x0..xb-1, x0..xb-1, ...]."""
    size = tensor.shape[0]
    if size == batch:
        return tensor
    if batch % size:
        raise ValueError(f"cannot broadcast a cached batch of {size} to a call of batch {batch}.")
    return tensor.unsqueeze(0).expand(batch // size, *tensor.shape).reshape(batch, *tensor.shape[1:])


class FrameCache:
    """Per-layer temporal context of the frames committed so far (see module docstring).

    Use: `model.forward_cached(..., cache, commit=True)` on known frames fills it; calls with
    `commit=False` read it without changing it; `fork()` gives a copy that shares the stored tensors,
    so one history can seed many rollouts.
    """

    def __init__(self):
        self.frames = 0
        self.first_frame: torch.Tensor | None = None
        # Stable Video Diffusion conditioning (an ImageConditioning) of the window's first frame.
        self.conditioning = None
        self.conv_inputs: dict[int, torch.Tensor] = {}
        self.attention: dict[int, list[tuple[torch.Tensor, torch.Tensor]]] = {}
        self.batch = 0
        self.commit = False

    def fork(self) -> FrameCache:
        copy = FrameCache()
        copy.frames, copy.first_frame, copy.conditioning = self.frames, self.first_frame, self.conditioning
        copy.conv_inputs = dict(self.conv_inputs)
        copy.attention = {layer: list(segments) for layer, segments in self.attention.items()}
        return copy

    def begin(self, batch: int, commit: bool) -> None:
        self.batch, self.commit = batch, commit

    def end(self, frames: int) -> None:
        if self.commit:
            self.frames += frames
        self.batch, self.commit = 0, False

    # Temporal convolutions: the inputs of the last k-1 frames.
    def conv_past(self, layer: int, frames_needed: int) -> torch.Tensor | None:
        """[batch, C, <= frames_needed, H, W] of past inputs, or None when nothing is cached."""
        past = self.conv_inputs.get(layer)
        return None if past is None else broadcast_batch(past[:, :, -frames_needed:], self.batch)

    def conv_commit(self, layer: int, inputs: torch.Tensor, frames_needed: int) -> None:
        """Remember the last `frames_needed` input frames of [B, C, F, H, W] (with what came before)."""
        past = self.conv_inputs.get(layer)
        if past is not None:
            inputs = torch.cat([broadcast_batch(past, inputs.shape[0]), inputs], dim=2)
        self.conv_inputs[layer] = inputs[:, :, -frames_needed:]

    # Temporal attention: keys and values of every past frame, as [b, S, heads, frames, head_dim] segments.
    def attention_past(self, layer: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return self.attention.get(layer, [])

    def attention_commit(self, layer: int, key: torch.Tensor, value: torch.Tensor) -> None:
        segments = self.attention.setdefault(layer, [])
        if segments and segments[-1][0].shape[0] == key.shape[0]:
            old_key, old_value = segments[-1]
            segments[-1] = (torch.cat([old_key, key], dim=3), torch.cat([old_value, value], dim=3))
        else:
            segments.append((key, value))
