"""Autoregressive generation, one frame at a time, re-running the whole context window every step."""

from __future__ import annotations

import torch
from diffusers import SchedulerMixin

from .guidance import guidance_action_mask, guided_prediction
from .image_conditioning import ImageConditioning
from .model import Vid2WorldModel
from .noise_schedule import check_scheduler, constant_levels, noise_to_level
from .sampler_config import SamplerConfig

__all__ = ["AutoregressiveSampler", "SamplerConfig"]


class AutoregressiveSampler:
    """Imagines future frames from history frames and actions; batch entries are independent rollouts.

    This is the plain reference sampler: at every denoising step of every new frame it runs the model
    over the whole context window. The scheduler passed in is only a template: each frame gets a
    fresh copy, because schedulers keep per-rollout state.
    """

    def __init__(self, model: Vid2WorldModel, scheduler: SchedulerMixin, config: SamplerConfig | None = None):
        self.model = model
        self.scheduler = scheduler
        self.config = config or SamplerConfig()
        check_scheduler(scheduler, model.config.prediction_type)
        if self.config.history_timestep >= scheduler.config.num_train_timesteps:
            raise ValueError(
                f"`history_timestep` must be below {scheduler.config.num_train_timesteps}. "
                f"Got {self.config.history_timestep}."
            )

    @torch.no_grad()
    def rollout(
        self,
        history: torch.Tensor,
        history_actions: torch.Tensor,
        actions: torch.Tensor,
        generator: torch.Generator | None = None,
        conditioning: ImageConditioning | None = None,
    ) -> torch.Tensor:
        """Generate one new frame per action.

        Args:
            history: [B, P, C, H, W] known frames in model space, P >= 1; batch 1 is shared by all
                rollouts (planning: one history, many candidate action sequences).
            history_actions: [B, P-1, A] (or batch 1 with history); taken after history frame i.
            actions: [B, N, A]; actions[:, j] is taken after the newest frame so far and leads to new frame j.
            generator: makes the rollout reproducible.
            conditioning: for `conditioning="image"` models, the image conditioning of the first
                history frame (batch 1 or B); it stays with the rollout as the window slides on.

        Returns:
            [B, N, C, H, W] the imagined frames, in model space.
        """
        self._check_inputs(history, history_actions, actions)
        batch = actions.shape[0]
        history_actions = history_actions.expand(batch, -1, -1)
        all_actions = torch.cat([history_actions, actions], dim=1).to(history.dtype)
        context = self._as_history(history, generator).expand(batch, -1, -1, -1, -1)
        if self.config.rollout == "joint":
            past, count = context.shape[1], actions.shape[1]
            if past + count > self.model.config.max_frames:
                raise ValueError(
                    f"rollout 'joint' needs history ({past} frames) + horizon ({count}) within the model's "
                    f"window of {self.model.config.max_frames} frames."
                )
            return self._denoise_new_frames(context, all_actions, count, generator, conditioning)
        window = self.model.config.max_frames - 1
        imagined = []
        for _ in range(actions.shape[1]):
            start = max(0, context.shape[1] - window)
            frame = self._denoise_new_frames(
                context[:, start:], all_actions[:, start : context.shape[1]], 1, generator, conditioning
            )
            imagined.append(frame)
            context = torch.cat([context, self._as_history(frame, generator)], dim=1)
        return torch.cat(imagined, dim=1)

    def _denoise_new_frames(
        self,
        context: torch.Tensor,
        actions: torch.Tensor,
        count: int,
        generator: torch.Generator | None,
        conditioning: ImageConditioning | None = None,
    ) -> torch.Tensor:
        """Context [B, P, C, H, W] and actions [B, P-1+count, A] (entry i taken after frame i) -> the `count`
        frames that follow, [B, count, C, H, W], denoised together in one window (count 1: the
        autoregressive step). Guidance drops the actions that lead to them."""
        batch, past = context.shape[:2]
        frames = past + count
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(self.config.num_inference_steps, device=context.device)
        window_actions = torch.cat([actions, actions[:, -1:]], dim=1)  # the last frame's slot leads nowhere
        mask = torch.ones(batch, frames, dtype=torch.bool, device=context.device)
        guided = self.config.guidance_scale != 1.0
        if guided:
            window_actions, mask = window_actions.repeat(2, 1, 1), guidance_action_mask(mask, count)
        history_levels = constant_levels(
            scheduler, self.config.history_timestep, (mask.shape[0], past), context.device
        )
        window_context = context.repeat(2, 1, 1, 1, 1) if guided else context
        shape = (batch, count, *context.shape[2:])
        sample = torch.randn(shape, generator=generator, device=context.device, dtype=context.dtype)
        sample = sample * scheduler.init_noise_sigma  # 1 for DDIM; EDM starts at sigma_max
        for t in scheduler.timesteps:
            scaled = scheduler.scale_model_input(sample, t)  # c_in for EDM; DDIM: unchanged
            model_input = torch.cat([window_context, scaled.repeat(2 if guided else 1, 1, 1, 1, 1)], dim=1)
            levels = torch.cat([history_levels, t.expand(mask.shape[0], count).to(history_levels)], dim=1)
            prediction = self.model(
                model_input, levels, window_actions, action_mask=mask, conditioning=conditioning
            ).sample[:, past:]
            if guided:
                cond, uncond = prediction.chunk(2)
                prediction = guided_prediction(
                    cond, uncond, self.config.guidance_scale, self.config.guidance_rescale
                )
            sample = scheduler.step(prediction, t, sample).prev_sample
        return sample

    def _as_history(self, frames: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        return noise_to_level(self.scheduler, frames, self.config.history_timestep, generator)

    def _check_inputs(self, history, history_actions, actions):
        model = self.model
        channels, action_dim = model.sample_channels, model.config.action_dim
        if history.ndim != 5 or history.shape[1] < 1 or history.shape[2] != channels:
            raise ValueError(f"`history` must be [B, P >= 1, {channels}, H, W]. Got {tuple(history.shape)}.")
        shared, past = history.shape[:2]
        if history_actions.shape != (shared, past - 1, action_dim):
            raise ValueError(
                f"`history_actions` must be [B, P-1, A] = [{shared}, {past - 1}, {action_dim}]. "
                f"Got {tuple(history_actions.shape)}."
            )
        batch = actions.shape[0] if shared == 1 and actions.ndim == 3 else shared
        if actions.ndim != 3 or actions.shape[0] != batch or actions.shape[2] != action_dim:
            raise ValueError(
                f"`actions` must be [B, N, A] = [{batch}, N, {action_dim}]. Got {tuple(actions.shape)}."
            )
