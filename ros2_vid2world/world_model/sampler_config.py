"""The sampler's settings, torch-free so that a node or CLI can validate them before loading a model."""

from __future__ import annotations

from dataclasses import dataclass

from ..choices import ROLLOUTS
from ..settings import check_settings, setting


@dataclass
class SamplerConfig:
    """Inference settings of the autoregressive sampler and the imagination engine.

    rollout: "autoregressive" generates the new frames one at a time, each from the finished ones
    before it (the paper's inference). "joint" denoises them together in one window, each at the
    same level and conditioned on its own action, the way Diffusion Forcing also trains (a clean
    past, noisy futures): one model pass per denoising step for the whole horizon, instead of one
    per frame plus a pass that re-encodes each finished frame as context. There causal action
    guidance drops the actions of all new frames in the unconditional half, not only the newest.
    """

    num_inference_steps: int = setting(50, "Denoising steps per imagined frame.", low=1)
    guidance_scale: float = setting(
        2.5, "Causal action guidance scale s in eps_u + s (eps_c - eps_u); 1 = no guidance.", low=0.0
    )
    guidance_rescale: float = setting(
        0.0, "CFG rescale factor (Lin et al.) applied on top of guidance; 0 = off.", low=0.0, high=1.0
    )
    history_timestep: int = setting(
        20, "Small noise level given to the clean context frames (paper: 20 of 1000).", low=0
    )
    rollout: str = setting(
        "autoregressive",
        "How the horizon is imagined: autoregressive (one frame at a time, each from the finished "
        "ones before it: the paper's inference) or joint (all frames in one window per denoising "
        "step: fewer model passes; torch backend only).",
        choices=ROLLOUTS,
    )

    def __post_init__(self):
        check_settings(self)
