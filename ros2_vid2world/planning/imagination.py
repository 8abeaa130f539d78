"""The imagination engine: many candidate futures from one history, the history computed once."""

from __future__ import annotations

import torch
from diffusers import SchedulerMixin

from ..world_model.action_embedding import actions_leading_to_frames
from ..world_model.frame_cache import FrameCache
from ..world_model.guidance import guided_prediction
from ..world_model.model import Vid2WorldModel
from ..world_model.noise_schedule import noise_to_level
from ..world_model.sampler import SamplerConfig


class ImaginationEngine:
    """Imagines the outcome of N candidate action sequences in one batch.

    Because the model is causal, the history is the same for every candidate: `set_history` runs it
    through the model once and keeps, per layer, what later frames read from it (a `FrameCache`).
    `imagine` then generates only new frames, one at a time for all candidates together, with the
    guidance pass in the same batch, and adds each finished frame to the candidates' own cache. One
    history serves every `imagine` call (every CEM iteration) until the next `set_history`.

    It produces the frames `AutoregressiveSampler` produces for the same noise, as long as history
    plus horizon fit in the model's window (`max_frames`): the engine does not slide the window.
    """

    def __init__(self, model: Vid2WorldModel, scheduler: SchedulerMixin, config: SamplerConfig | None = None):
        self.model = model
        self.scheduler = scheduler
        self.config = config or SamplerConfig()
        if scheduler.config.prediction_type != model.config.prediction_type:
            raise ValueError(
                f"scheduler prediction_type {scheduler.config.prediction_type!r} does not match "
                f"the model's {model.config.prediction_type!r}."
            )
        self._history: FrameCache | None = None
        self._frame_shape: tuple[int, ...] = ()
        self._dtype = torch.float32

    @property
    def history_frames(self) -> int:
        return 0 if self._history is None else self._history.frames

    @torch.no_grad()
    def set_history(
        self, history: torch.Tensor, history_actions: torch.Tensor, generator: torch.Generator | None = None
    ) -> None:
        """Compute the shared history once.

        Args:
            history: [1, P, C, H, W] known frames in model space, P >= 1.
            history_actions: [1, P-1, A]; history_actions[:, i] was taken after history frame i.
        """
        channels, action_dim = self.model.sample_channels, self.model.config.action_dim
        if history.ndim != 5 or history.shape[0] != 1 or history.shape[1] < 1 or history.shape[2] != channels:
            raise ValueError(f"`history` must be [1, P >= 1, {channels}, H, W]. Got {tuple(history.shape)}.")
        past = history.shape[1]
        if history_actions.shape != (1, past - 1, action_dim):
            raise ValueError(
                f"`history_actions` must be [1, P-1, A] = [1, {past - 1}, {action_dim}]. "
                f"Got {tuple(history_actions.shape)}."
            )
        if past >= self.model.config.max_frames:
            raise ValueError(
                f"`history` has {past} frames; the model's window is {self.model.config.max_frames} "
                "frames and must also hold at least one new frame."
            )
        context = noise_to_level(self.scheduler, history, self.config.history_timestep, generator)
        padded = torch.cat([history_actions, history_actions.new_zeros(1, 1, action_dim)], dim=1)
        led_to, keep = actions_leading_to_frames(
            padded.to(history.dtype), torch.ones(1, past, dtype=torch.bool)
        )
        cache = FrameCache()
        self.model.forward_cached(
            context, self._levels(1, past, history.device), led_to, keep, cache, commit=True
        )
        self._history, self._frame_shape, self._dtype = cache, tuple(history.shape[2:]), history.dtype

    @torch.no_grad()
    def imagine(self, candidates: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """[N, H, A] candidate actions (the first is taken after the newest history frame) ->
        [N, H, C, h, w] imagined frames in model space."""
        if self._history is None:
            raise RuntimeError("call set_history() before imagine().")
        action_dim = self.model.config.action_dim
        if candidates.ndim != 3 or candidates.shape[2] != action_dim or candidates.shape[1] < 1:
            raise ValueError(
                f"`candidates` must be [N, H >= 1, {action_dim}]. Got {tuple(candidates.shape)}."
            )
        count, horizon = candidates.shape[:2]
        if self.history_frames + horizon > self.model.config.max_frames:
            raise ValueError(
                f"history ({self.history_frames} frames) + horizon ({horizon}) exceeds the model's window "
                f"of {self.model.config.max_frames} frames."
            )
        device = candidates.device
        candidates = candidates.to(self._dtype)
        guided = self.config.guidance_scale != 1.0
        kept = torch.ones(count, 1, dtype=torch.bool, device=device)
        # Guidance doubles the batch: [conditional | the newest action dropped]; the history is shared.
        keep = torch.cat([kept, ~kept]) if guided else kept
        cache = self._history.fork()
        imagined = []
        for step in range(horizon):
            action = candidates[:, step : step + 1]
            step_actions = action.repeat(2, 1, 1) if guided else action
            scheduler = type(self.scheduler).from_config(self.scheduler.config)
            scheduler.set_timesteps(self.config.num_inference_steps, device=device)
            sample = torch.randn(
                (count, 1, *self._frame_shape), generator=generator, device=device, dtype=self._dtype
            )
            for t in scheduler.timesteps:
                model_input = sample.repeat(2, 1, 1, 1, 1) if guided else sample
                levels = t.to(device).expand(model_input.shape[0], 1)
                prediction = self.model.forward_cached(model_input, levels, step_actions, keep, cache)
                if guided:
                    cond, uncond = prediction.chunk(2)
                    prediction = guided_prediction(
                        cond, uncond, self.config.guidance_scale, self.config.guidance_rescale
                    )
                sample = scheduler.step(prediction, t, sample).prev_sample
            imagined.append(sample)
            if step < horizon - 1:  # the last frame is seen by nothing: do not cache it
                entering = noise_to_level(self.scheduler, sample, self.config.history_timestep, generator)
                levels = self._levels(count, 1, device)
                self.model.forward_cached(entering, levels, action, kept, cache, commit=True)
        return torch.cat(imagined, dim=1)

    def _levels(self, batch: int, frames: int, device: torch.device) -> torch.Tensor:
        return torch.full((batch, frames), self.config.history_timestep, dtype=torch.long, device=device)
