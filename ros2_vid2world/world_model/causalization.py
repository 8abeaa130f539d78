"""Turn a pre-trained, bidirectional video U-Net into a causal world model."""

from __future__ import annotations

import torch
from diffusers import UNetSpatioTemporalConditionModel

from .action_space import DEFAULT_ACTION_SPACE, DEFAULT_CONTROL_PERIOD
from .base_pipeline import BaseModel
from .causal_conv import CausalTemporalConv, causal_kernel, check_weight_transfer
from .causal_unet import SUPPORTED_BASES
from .folder import WorldModelFolder
from .model import Vid2WorldModel
from .noise_schedule import make_scheduler


def base_unet_config(unet: UNetSpatioTemporalConditionModel) -> dict:
    """The U-Net's own config, without diffusers' bookkeeping keys, as plain JSON values."""
    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in unet.config.items() if not k.startswith("_")
    }


def causalize(
    unet: UNetSpatioTemporalConditionModel,
    *,
    action_dim: int,
    weight_transfer: str = "extrapolative",
    copy_weights: bool = True,
    **world_model_kwargs,
) -> Vid2WorldModel:
    """Build a `Vid2WorldModel` from a pre-trained video U-Net (Vid2World, section 1-2 and 4).

    Every spatial weight is kept unchanged; every temporal convolution kernel is made causal by
    `weight_transfer` ("extrapolative", "masked" or "shift"); the action embedding starts at zero, so
    the result initially computes what the base computed, made causal.

    Args:
        unet: A `UNetSpatioTemporalConditionModel` (e.g. Stable Video Diffusion's U-Net).
        action_dim: Size of one action vector.
        weight_transfer: See `causal_kernel`.
        copy_weights: True: the model gets copies of the base's spatial weights. False: it takes the
            base's tensors themselves (shared with `unet` from then on, so training the model changes
            the base): for a base loaded only to be causalized, whose U-Net is then not held twice
            (a full-size SVD U-Net is 6 GB in float32).
        world_model_kwargs: Further `Vid2WorldModel` settings (prediction_type, max_frames, ...).
    """
    if not isinstance(unet, SUPPORTED_BASES):
        raise ValueError(
            f"`unet` must be one of {[c.__name__ for c in SUPPORTED_BASES]}. Got {type(unet).__name__}."
        )
    check_weight_transfer(weight_transfer)
    world_model_kwargs.setdefault("max_frames", unet.config.num_frames)
    # Built on the meta device: a U-Net whose every weight is replaced at once gets no memory and no
    # random initialisation of its own.
    with torch.device("meta"):
        model = Vid2WorldModel(
            unet_config=base_unet_config(unet),
            action_dim=action_dim,
            weight_transfer=weight_transfer,
            **world_model_kwargs,
        )
    state = unet.state_dict()
    if copy_weights:
        state = {key: value.clone() for key, value in state.items()}
    for name, module in model.unet.named_modules():
        if isinstance(module, CausalTemporalConv):
            state[f"{name}.weight"] = causal_kernel(state[f"{name}.weight"], weight_transfer)
    model.unet.load_state_dict(state, strict=True, assign=True)
    del state
    parameter = next(unet.parameters())
    model.init_added_parameters()
    model.to(parameter.device)
    return model if parameter.dtype == torch.float32 else model.to(parameter.dtype)


def folder_from_base(
    base: BaseModel,
    *,
    action_dim: int,
    weight_transfer: str = "extrapolative",
    prediction_type: str | None = None,
    beta_schedule: str | None = None,
    patch_size: int = 1,
    action_stats: dict | None = None,
    control_period: float = DEFAULT_CONTROL_PERIOD,
    action_space: str = DEFAULT_ACTION_SPACE,
    **world_model_kwargs,
) -> WorldModelFolder:
    """A world-model folder made from a loaded base (`load_base`), keeping what the base was trained
    with: Stable Video Diffusion's continuous EDM scheduler and v-prediction, its autoencoder, and its
    image conditioning (CLIP encoder); a base without its own scheduler gets a DDIM schedule
    (`beta_schedule`, default scaled_linear; zero terminal SNR for v-prediction).

    The folder takes the base's parts rather than copies (its autoencoder, image encoder and the
    U-Net's tensors, see `causalize(copy_weights=False)`), so a full-size base is held once: load the
    base again to use it apart from the folder.

    Raises ValueError when `prediction_type` contradicts the base's own scheduler.
    """
    own = base.scheduler
    if own is not None and prediction_type not in (None, own.config.prediction_type):
        raise ValueError(
            f"--prediction-type {prediction_type}: the base's own scheduler predicts "
            f"{own.config.prediction_type} (Stable Video Diffusion's EDM parameterisation); leave it out."
        )
    prediction_type = prediction_type or (own.config.prediction_type if own is not None else "epsilon")
    if own is not None and beta_schedule is not None:
        raise ValueError("--beta-schedule: the base brings its own noise schedule; leave it out.")
    scheduler = own or make_scheduler(
        prediction_type=prediction_type,
        beta_schedule=beta_schedule or "scaled_linear",
        rescale_betas_zero_snr=prediction_type == "v_prediction",
    )
    model = causalize(
        base.unet, action_dim=action_dim, weight_transfer=weight_transfer, copy_weights=False,
        prediction_type=prediction_type, conditioning=base.conditioning, **world_model_kwargs,
    )
    return WorldModelFolder(
        model=model, scheduler=scheduler, vae=base.vae, patch_size=patch_size, action_stats=action_stats,
        control_period=control_period, action_space=action_space, image_encoder=base.image_encoder,
        image_mean=base.image_mean, image_std=base.image_std,
    )
