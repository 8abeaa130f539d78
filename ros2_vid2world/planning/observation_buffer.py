"""The rolling history the planner imagines from: recent frames and the actions executed between them."""

from __future__ import annotations

from collections import deque

import torch


class ObservationBuffer:
    """The last `capacity` frames (model space) and the actions executed between consecutive ones.

    `append(frame, executed_action)` takes the action executed since the previous frame; None means
    it is not known (first frame, or after a gap), and the history restarts at this frame, since a
    history with a missing action would condition the model on something that did not happen.
    Each frame may carry its camera image (`pixels`), which image-conditioned models read.
    """

    def __init__(self, capacity: int, action_dim: int):
        if capacity < 1:
            raise ValueError(f"`capacity` must be >= 1. Got {capacity}.")
        self.capacity, self.action_dim = capacity, action_dim
        # Both drop their oldest entry together, so there is always one action fewer than frames.
        self._frames: deque[torch.Tensor] = deque(maxlen=capacity)
        self._pixels: deque[torch.Tensor | None] = deque(maxlen=capacity)
        self._actions: deque[torch.Tensor] = deque(maxlen=capacity - 1)

    def __len__(self) -> int:
        return len(self._frames)

    def append(
        self, frame: torch.Tensor, executed_action: torch.Tensor | None, pixels: torch.Tensor | None = None
    ) -> None:
        """frame [C, h, w]; executed_action [A] or None; pixels [3, H, W] in [-1, 1] or None."""
        if executed_action is None:
            self.clear()
        elif self._frames:
            if executed_action.shape != (self.action_dim,):
                raise ValueError(
                    f"`executed_action` must be [{self.action_dim}]. Got {tuple(executed_action.shape)}."
                )
            self._actions.append(executed_action)
        self._frames.append(frame)
        self._pixels.append(pixels)

    def resize(self, capacity: int) -> None:
        """Keep the newest `capacity` frames (and the actions between them)."""
        if capacity < 1:
            raise ValueError(f"`capacity` must be >= 1. Got {capacity}.")
        frames = list(self._frames)[-capacity:]
        actions = list(self._actions)[len(self._actions) - (len(frames) - 1) :] if len(frames) > 1 else []
        self.capacity = capacity
        self._frames = deque(frames, maxlen=capacity)
        self._pixels = deque(list(self._pixels)[-capacity:], maxlen=capacity)
        self._actions = deque(actions, maxlen=capacity - 1)

    def clear(self) -> None:
        self._frames.clear()
        self._pixels.clear()
        self._actions.clear()

    def first_pixels(self) -> torch.Tensor | None:
        """[3, H, W] the camera image of the oldest frame kept, if it was given."""
        return self._pixels[0] if self._pixels else None

    def history(self) -> tuple[torch.Tensor, torch.Tensor]:
        """([1, P, C, h, w] frames, [1, P-1, A] actions); raises when empty."""
        if not self._frames:
            raise ValueError("no observation yet: call observe() with a camera frame before planning.")
        frames = torch.stack(list(self._frames))[None]
        if not self._actions:
            return frames, frames.new_zeros(1, 0, self.action_dim)
        return frames, torch.stack(list(self._actions))[None].to(frames.dtype)
