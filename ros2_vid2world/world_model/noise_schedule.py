"""The diffusion noise schedule a world model is trained and sampled with.

Two kinds of noise level, one per frame:
- discrete (DDIMScheduler, this project's own models): an index t into a 1000-step table of
  alpha_bar; the model's time input is t.
- continuous (EulerDiscreteScheduler with timestep_type "continuous", Stable Video Diffusion's EDM
  parameterisation): a noise standard deviation sigma; the model's time input is c_noise = ln(sigma) / 4
  and its input is scaled by c_in = 1 / sqrt(sigma^2 + 1). With v-prediction, EDM's denoiser
  c_skip x + c_out F(c_in x) is exactly the variance-preserving v-prediction with
  alpha_bar = 1 / (1 + sigma^2) applied to c_in x, so both kinds share the code below: a "level" is
  what the model's time input receives (t, or c_noise), and `alphas_cumprod_at` turns either into
  alpha_bar. Samplers step with the scheduler's own `scale_model_input` and `step`, as diffusers'
  pipelines do.
"""

from __future__ import annotations

import math

import torch
from diffusers import DDIMScheduler, EulerDiscreteScheduler, SchedulerMixin

BETA_SCHEDULES = ("linear", "scaled_linear", "squaredcos_cap_v2")
SCHEDULERS = {cls.__name__: cls for cls in (DDIMScheduler, EulerDiscreteScheduler)}


def make_scheduler(
    prediction_type: str = "epsilon",
    beta_schedule: str = "squaredcos_cap_v2",
    num_train_timesteps: int = 1000,
    rescale_betas_zero_snr: bool = False,
) -> DDIMScheduler:
    """A DDIM scheduler with "trailing" spacing (Vid2World's inference setting).

    Zero terminal SNR leaves no signal at the last timestep, where epsilon prediction cannot recover
    the sample: it needs v-prediction.
    """
    if beta_schedule not in BETA_SCHEDULES:
        raise ValueError(f"`beta_schedule` must be one of {list(BETA_SCHEDULES)}. Got {beta_schedule!r}.")
    if rescale_betas_zero_snr and prediction_type != "v_prediction":
        raise ValueError(
            f"`rescale_betas_zero_snr` needs prediction_type 'v_prediction'. Got {prediction_type!r}."
        )
    return DDIMScheduler(
        num_train_timesteps=num_train_timesteps,
        beta_schedule=beta_schedule,
        prediction_type=prediction_type,
        rescale_betas_zero_snr=rescale_betas_zero_snr,
        timestep_spacing="trailing",
        clip_sample=False,
        set_alpha_to_one=True,
    )


def is_continuous(scheduler: SchedulerMixin) -> bool:
    """True for the EDM parameterisation (levels are c_noise = ln(sigma) / 4, floats)."""
    return isinstance(scheduler, EulerDiscreteScheduler) and scheduler.config.timestep_type == "continuous"


def check_scheduler(scheduler: SchedulerMixin, prediction_type: str) -> None:
    """ValueError unless `scheduler` is one this project samples with, predicting `prediction_type`."""
    if type(scheduler).__name__ not in SCHEDULERS:
        raise ValueError(
            f"the scheduler must be one of {sorted(SCHEDULERS)}. Got {type(scheduler).__name__}."
        )
    if scheduler.config.prediction_type != prediction_type:
        raise ValueError(
            f"scheduler prediction_type {scheduler.config.prediction_type!r} does not match "
            f"the model's {prediction_type!r}."
        )
    if isinstance(scheduler, EulerDiscreteScheduler) and not (
        is_continuous(scheduler) and prediction_type == "v_prediction"
    ):
        raise ValueError(
            "an EulerDiscreteScheduler must have timestep_type 'continuous' and prediction_type "
            f"'v_prediction' (Stable Video Diffusion's). Got {scheduler.config.timestep_type!r}, "
            f"{scheduler.config.prediction_type!r}."
        )


def level_dtype(scheduler: SchedulerMixin) -> torch.dtype:
    return torch.float32 if is_continuous(scheduler) else torch.long


def sigma_at_index(scheduler: SchedulerMixin, index: int) -> float:
    """The noise standard deviation of the training table's entry `index` (sigma = sqrt((1 - ab) / ab))."""
    alpha_bar = float(scheduler.alphas_cumprod[index])
    return math.sqrt((1 - alpha_bar) / alpha_bar)


def level_at_index(scheduler: SchedulerMixin, index: int) -> float | int:
    """The level (the model's time input) of the training table's entry `index`: settings such as
    `history_timestep` are indices in [0, 1000), meaning the same noise for either kind."""
    if not 0 <= index < scheduler.config.num_train_timesteps:
        raise ValueError(
            f"a noise level index must be in [0, {scheduler.config.num_train_timesteps}). Got {index}."
        )
    if not is_continuous(scheduler):
        return int(index)
    return 0.25 * math.log(max(sigma_at_index(scheduler, index), 1e-12))


def terminal_level(scheduler: SchedulerMixin) -> float | int:
    """Where sampling starts: the last table entry, or SVD's sigma_max."""
    if not is_continuous(scheduler):
        return scheduler.config.num_train_timesteps - 1
    last = scheduler.config.num_train_timesteps - 1
    sigma_max = scheduler.config.sigma_max or sigma_at_index(scheduler, last)
    return 0.25 * math.log(sigma_max)


def random_levels(
    scheduler: SchedulerMixin,
    shape: tuple[int, ...],
    device: torch.device | str,
    generator: torch.Generator | None = None,
    log_sigma_mean: float = 0.7,
    log_sigma_std: float = 1.6,
) -> torch.Tensor:
    """Training noise levels: uniform table indices, or for EDM ln(sigma) ~ N(mean, std), the
    log-normal noise distribution of EDM training (Karras et al. 2022) that Stable Video Diffusion
    fine-tunes with, shifted to more noise than images need."""
    if not is_continuous(scheduler):
        count = scheduler.config.num_train_timesteps
        return torch.randint(0, count, shape, device=device, generator=generator)
    log_sigma = torch.randn(shape, device=device, generator=generator) * log_sigma_std + log_sigma_mean
    return 0.25 * log_sigma


def alphas_cumprod_at(scheduler: SchedulerMixin, timesteps: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """alpha_bar at per-frame levels `timesteps` [B, F], shaped to broadcast against `like` [B, F, ...]."""
    if is_continuous(scheduler):
        sigma_squared = torch.exp(8.0 * timesteps.double())  # c_noise = ln(sigma) / 4
        alpha_bar = (1.0 / (1.0 + sigma_squared)).to(like.device)
    else:
        alpha_bar = scheduler.alphas_cumprod.to(device=like.device)[timesteps.long()]
    return alpha_bar.to(like.dtype).view(*timesteps.shape, *([1] * (like.ndim - timesteps.ndim)))


def add_noise(
    scheduler: SchedulerMixin, clean: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
) -> torch.Tensor:
    """Noise every frame of `clean` [B, F, ...] to its own level `timesteps` [B, F]."""
    alpha_bar = alphas_cumprod_at(scheduler, timesteps, clean)
    return alpha_bar.sqrt() * clean + (1 - alpha_bar).sqrt() * noise


def prediction_target(
    prediction_type: str, clean: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """What the model regresses: the noise, or v = sqrt(alpha_bar) noise - sqrt(1 - alpha_bar) clean."""
    if prediction_type == "epsilon":
        return noise
    return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * clean


def constant_levels(
    scheduler: SchedulerMixin, index: int, shape: tuple[int, ...], device: torch.device | str
) -> torch.Tensor:
    """Every frame at the level of table entry `index` (e.g. `history_timestep`)."""
    return torch.full(shape, level_at_index(scheduler, index), dtype=level_dtype(scheduler), device=device)


def noise_to_level(
    scheduler: SchedulerMixin, frames: torch.Tensor, index: int, generator: torch.Generator | None
) -> torch.Tensor:
    """Noise every frame of [B, F, ...] once to table entry `index` (how frames enter a context)."""
    noise = torch.randn(frames.shape, generator=generator, device=frames.device, dtype=frames.dtype)
    levels = constant_levels(scheduler, index, frames.shape[:2], frames.device)
    return add_noise(scheduler, frames, noise, levels)
