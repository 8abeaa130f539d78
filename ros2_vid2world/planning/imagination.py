"""The imagination engine: many candidate futures from one history, the history computed once."""

from __future__ import annotations

import torch
from diffusers import SchedulerMixin

from ..choices import ROLLOUTS
from ..world_model.action_embedding import actions_leading_to_frames
from ..world_model.frame_cache import FrameCache
from ..world_model.guidance import guided_prediction
from ..world_model.image_conditioning import ImageConditioning
from ..world_model.model import Vid2WorldModel
from ..world_model.noise_schedule import add_noise, check_scheduler, constant_levels, noise_to_level
from ..world_model.sampler_config import SamplerConfig
from .errors import PlanCancelled


class ImaginationEngine:
    """Imagines the outcome of N candidate action sequences in one batch.

    Because the model is causal, the history is the same for every candidate: `set_history` runs it
    through the model once and keeps, per layer, what later frames read from it (a `FrameCache`).
    `imagine` then generates only new frames, one at a time for all candidates together, with the
    guidance pass in the same batch, and adds each finished frame to the candidates' own cache (with
    `SamplerConfig.rollout` "joint": all new frames together, one pass per denoising step). One
    history serves every `imagine` call (every CEM iteration) until the next `set_history`.

    It produces the frames `AutoregressiveSampler` produces for the same noise, as long as history
    plus horizon fit in the model's window (`max_frames`): the engine does not slide the window.

    The model runs on its own device and precision; the denoising loop runs on the model's device in
    the dtype of the history passed in, and noise is drawn on the generator's device, so a CPU
    generator gives the same noise whatever the model runs on. `autocast_dtype` (e.g. torch.bfloat16)
    runs the model calls under `torch.autocast`: matrix products and convolutions in that precision,
    normalisations and the denoising loop in fp32 (on CPUs with AMX or AVX-512 BF16 this is the fast
    path). `compile_model` wraps the cached forward in `torch.compile`. Subclasses run the per-frame
    model calls elsewhere by overriding `_start_rollout` (see `OrtImaginationEngine`) and list the
    rollouts they can run in `ROLLOUTS`.
    """

    ROLLOUTS = ROLLOUTS

    def __init__(
        self,
        model: Vid2WorldModel,
        scheduler: SchedulerMixin,
        config: SamplerConfig | None = None,
        compile_model: bool = False,
        autocast_dtype: torch.dtype | None = None,
    ):
        self.model = model
        self.scheduler = scheduler
        self.config = config or SamplerConfig()
        check_scheduler(scheduler, model.config.prediction_type)
        forward = model.forward_cached
        if autocast_dtype is not None:
            forward = autocast(forward, next(model.parameters()).device.type, autocast_dtype)
        self.autocast_dtype = autocast_dtype
        self._forward_cached = torch.compile(forward) if compile_model else forward
        self._history: FrameCache | None = None
        # Checked before every model pass of a rollout: True abandons it (raises PlanCancelled).
        self.should_stop = lambda: False
        self._frame_shape: tuple[int, ...] = ()
        self._dtype = torch.float32  # of the caller's frames: the denoising loop runs in it

    @property
    def history_frames(self) -> int:
        return 0 if self._history is None else self._history.frames

    @torch.no_grad()
    def set_history(
        self,
        history: torch.Tensor,
        history_actions: torch.Tensor,
        generator: torch.Generator | None = None,
        conditioning: ImageConditioning | None = None,
    ) -> None:
        """Compute the shared history once.

        Args:
            history: [1, P, C, H, W] known frames in model space, P >= 1.
            history_actions: [1, P-1, A]; history_actions[:, i] was taken after history frame i.
            conditioning: for `conditioning="image"` models (Stable Video Diffusion's), the image
                conditioning of the first history frame (`WorldModelFolder.conditioner`).
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
        # Noised where the caller's generator lives, then moved: the same noise on every device.
        context = noise_to_level(self.scheduler, history, self.config.history_timestep, generator)
        padded = torch.cat([history_actions, history_actions.new_zeros(1, 1, action_dim)], dim=1)
        led_to, keep = actions_leading_to_frames(
            padded.to(history.dtype), torch.ones(1, past, dtype=torch.bool)
        )
        device = self.device
        cache = FrameCache()
        if conditioning is not None:
            cache.conditioning = conditioning.to(device)
        TorchRollout(self._forward_cached, cache, self.model.dtype).commit(
            context.to(device), self._levels(1, past, device), led_to.to(device), keep.to(device)
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
        output_device = candidates.device
        if self.history_frames + horizon > self.model.config.max_frames:
            raise ValueError(
                f"history ({self.history_frames} frames) + horizon ({horizon}) exceeds the model's window "
                f"of {self.model.config.max_frames} frames."
            )
        device = self.device
        candidates = candidates.to(device, self._dtype)
        rollout = self._start_rollout(count)
        if self.config.rollout == "joint":  # nothing to commit: no later frame reads these
            return self._denoise_new_frames(rollout, candidates, generator).to(output_device)
        kept = torch.ones(count, 1, dtype=torch.bool, device=device)
        imagined = []
        for step in range(horizon):
            action = candidates[:, step : step + 1]
            sample = self._denoise_new_frames(rollout, action, generator)
            imagined.append(sample)
            if step < horizon - 1:  # the last frame is seen by nothing: do not cache it
                levels = self._levels(count, 1, device)
                entering = add_noise(self.scheduler, sample, self._randn(sample.shape, generator), levels)
                rollout.commit(entering, levels, action, kept)
        return torch.cat(imagined, dim=1).to(output_device)

    def _denoise_new_frames(self, rollout, actions: torch.Tensor, generator) -> torch.Tensor:
        """The n frames that follow the rollout's cache, denoised together: [N, n, A] actions leading to
        them -> [N, n, C, h, w]. Guidance doubles the batch: [conditional | their actions dropped]; the
        history is shared. n = 1 is the autoregressive step."""
        count, frames = actions.shape[:2]
        device = self.device
        guided = self.config.guidance_scale != 1.0
        kept = torch.ones(count, frames, dtype=torch.bool, device=device)
        keep = torch.cat([kept, ~kept]) if guided else kept
        actions = actions.repeat(2, 1, 1) if guided else actions
        scheduler = type(self.scheduler).from_config(self.scheduler.config)
        scheduler.set_timesteps(self.config.num_inference_steps, device=device)
        sample = self._randn((count, frames, *self._frame_shape), generator) * scheduler.init_noise_sigma
        for t in scheduler.timesteps:
            if self.should_stop():
                raise PlanCancelled("imagination abandoned on request")
            scaled = scheduler.scale_model_input(sample, t)  # c_in for EDM; DDIM: unchanged
            model_input = scaled.repeat(2, 1, 1, 1, 1) if guided else scaled
            levels = t.to(device).expand(model_input.shape[0], frames)
            prediction = rollout.predict(model_input, levels, actions, keep)
            if guided:
                cond, uncond = prediction.chunk(2)
                prediction = guided_prediction(
                    cond, uncond, self.config.guidance_scale, self.config.guidance_rescale
                )
            sample = scheduler.step(prediction, t, sample).prev_sample
        return sample

    @property
    def device(self) -> torch.device:
        """Where the model runs, and with it the denoising loop."""
        return next(self.model.parameters()).device

    def _start_rollout(self, count: int) -> TorchRollout:
        """The per-frame model calls of one `imagine`, reading a private copy of the history's cache."""
        return TorchRollout(self._forward_cached, self._history.fork(), self.model.dtype)

    def _randn(self, shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
        """Noise drawn on the generator's device, in the loop's dtype, moved to the loop's device."""
        source = generator.device if generator is not None else self.device
        return torch.randn(shape, generator=generator, device=source, dtype=self._dtype).to(self.device)

    def _levels(self, batch: int, frames: int, device: torch.device) -> torch.Tensor:
        return constant_levels(self.scheduler, self.config.history_timestep, (batch, frames), device)


def autocast(fn, device_type: str, dtype: torch.dtype):
    """`fn` run under torch.autocast(device_type, dtype)."""

    def run(*args, **kwargs):
        with torch.autocast(device_type, dtype=dtype):
            return fn(*args, **kwargs)

    return run


class TorchRollout:
    """The model calls of one `imagine`: predict the new frame from the cache, commit finished frames.

    Inputs come in the denoising loop's dtype; they are cast to the model's precision (`dtype`) and
    predictions are cast back.
    """

    def __init__(self, forward_cached, cache: FrameCache, dtype: torch.dtype):
        self._forward_cached, self.cache, self.dtype = forward_cached, cache, dtype

    def predict(self, sample, levels, led_to, keep) -> torch.Tensor:
        """[B, n, C, H, W] noisy frames, [B, n] levels, [B, n, A] actions, [B, n] keep -> [B, n, C, H, W];
        the cache is only read."""
        prediction = self._forward_cached(
            sample.to(self.dtype), levels, led_to.to(self.dtype), keep, self.cache
        )
        return prediction.to(sample.dtype)

    def commit(self, sample, levels, led_to, keep) -> None:
        """Append finished (lightly noised) frames to the cache; shapes as in `predict`."""
        self._forward_cached(
            sample.to(self.dtype), levels, led_to.to(self.dtype), keep, self.cache, commit=True
        )
