"""The causal, action-conditioned video world model."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers import UNetSpatioTemporalConditionModel
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput
from torch import nn

from ..choices import CONDITIONINGS, PREDICTION_TYPES
from .action_embedding import ActionEmbedding, actions_leading_to_frames
from .causal_conv import check_weight_transfer
from .causal_unet import make_unet_causal
from .embedding_scale import scale_resblock_norms
from .frame_cache import FrameCache, broadcast_batch
from .image_conditioning import ImageConditioning


@dataclass
class WorldModelOutput(BaseOutput):
    """sample: [B, F, C, H, W], the model's prediction (epsilon or v) for every frame."""

    sample: torch.Tensor


class Vid2WorldModel(ModelMixin, ConfigMixin):
    """A video U-Net made causal in time, with one noise level and one action per frame.

    Build one from a pre-trained U-Net with `causalize`; load a saved one with `from_pretrained`.
    The conditioning the base U-Net expects (an image embedding for cross-attention, the added time
    ids, the conditioning-image channels) comes from one of two places (`conditioning`):
    "learned": a learned context vector (starting at SVD's unconditional zeros) and, for an
    image-to-video base, the window's first frame as the sample shows it (the project's own small
    models); "image": Stable Video Diffusion's own, an `ImageConditioning` of the window's first
    frame (CLIP embedding and clean, noise-augmented VAE latent) given by the caller, so a
    transferred SVD keeps the conditioning it was trained with.

    Args:
        unet_config: The base `UNetSpatioTemporalConditionModel` config.
        action_dim: Size of one action vector.
        weight_transfer: How the temporal kernels were made causal (kept for provenance).
        prediction_type: What the model predicts: "epsilon" or "v_prediction".
        added_time_ids: The constant micro-conditioning fed to the base model's added-time embedding
            (for Stable Video Diffusion: fps, motion bucket, noise augmentation).
        max_frames: The longest clip the model was trained on: the sampler's context window.
        conditioning: "learned" or "image" (see above); "image" needs an image-to-video U-Net whose
            input has twice the channels of its output.
        embedding_scale: True: the frame embedding also scales every ResBlock's normalised features
            per channel (FiLM, see `embedding_scale.py`), through layers that start at zero.
    """

    config_name = "config.json"
    _supports_gradient_checkpointing = False

    @register_to_config
    def __init__(
        self,
        unet_config: dict,
        action_dim: int,
        weight_transfer: str = "extrapolative",
        prediction_type: str = "epsilon",
        added_time_ids: tuple[float, ...] = (6.0, 127.0, 0.02),
        max_frames: int = 16,
        conditioning: str = "learned",
        embedding_scale: bool = False,
    ):
        super().__init__()
        if not isinstance(action_dim, int) or action_dim < 1:
            raise ValueError(f"`action_dim` must be a positive integer. Got {action_dim!r}.")
        check_weight_transfer(weight_transfer)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"`prediction_type` must be one of {list(PREDICTION_TYPES)}. Got {prediction_type!r}."
            )
        if max_frames < 2:
            raise ValueError(f"`max_frames` must be at least 2. Got {max_frames}.")
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"`conditioning` must be one of {list(CONDITIONINGS)}. Got {conditioning!r}.")
        if not isinstance(embedding_scale, bool):
            raise ValueError(f"`embedding_scale` must be true or false. Got {embedding_scale!r}.")
        unet = UNetSpatioTemporalConditionModel.from_config(unet_config)
        if conditioning == "image" and unet.config.in_channels != 2 * unet.config.out_channels:
            raise ValueError(
                "`conditioning` 'image' needs an image-to-video U-Net (in_channels = 2 x out_channels). "
                f"Got {unet.config.in_channels} and {unet.config.out_channels}."
            )
        expected_ids = (
            unet.config.projection_class_embeddings_input_dim // unet.config.addition_time_embed_dim
        )
        if len(added_time_ids) != expected_ids:
            raise ValueError(
                f"`added_time_ids` must have {expected_ids} values for this U-Net. Got {len(added_time_ids)}."
            )
        # Plain lists, not registered: the layers themselves live in the U-Net.
        self._cache_users = make_unet_causal(unet)
        self._scaled_norms = scale_resblock_norms(unet) if embedding_scale else []
        self.unet = unet
        self.init_added_parameters()

    def init_added_parameters(self) -> None:
        """Create, at their starting values, the parameters the base U-Net does not have: the action
        embedding (its last layer zero, so actions change nothing yet), the context embedding and,
        with `embedding_scale`, one zero layer per scaled norm (so nothing is scaled yet).

        `causalize` calls it again after building the model's U-Net on the meta device.
        """
        unet = self.unet
        time_embed_dim = unet.time_embedding.linear_2.out_features
        self.action_embedding = ActionEmbedding(
            self.config.action_dim, unet.config.block_out_channels[0], time_embed_dim
        )
        # Stable Video Diffusion's unconditional image embedding is all zeros: start there.
        self.context_embedding = nn.Parameter(torch.zeros(1, 1, unet.config.cross_attention_dim))
        if self.config.embedding_scale:
            self.embedding_scales = nn.ModuleList(
                nn.Linear(time_embed_dim, norm.num_channels) for norm in self._scaled_norms
            )
            for layer in self.embedding_scales:
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    def with_embedding_scale(self) -> Vid2WorldModel:
        """This model with embedding scales added at zero (so it computes what it computed); itself
        when it has them."""
        if self.config.embedding_scale:
            return self
        config = {key: value for key, value in self.config.items() if not key.startswith("_")}
        scaled = Vid2WorldModel(**{**config, "embedding_scale": True})
        missing, unexpected = scaled.load_state_dict(self.state_dict(), strict=False)
        if unexpected or not all(key.startswith("embedding_scales.") for key in missing):
            raise RuntimeError(f"embedding scales changed more than their own layers: {missing} {unexpected}")
        return scaled.to(device=self.device, dtype=self.dtype).train(self.training)

    @property
    def sample_channels(self) -> int:
        """Channels of one frame as callers pass it (the base may take extra conditioning channels)."""
        return self.unet.config.out_channels

    @property
    def cache_users(self) -> tuple:
        """The layers that read a `FrameCache` in cached calls; a layer's index is its key in the cache."""
        return tuple(self._cache_users)

    def forward(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        actions: torch.Tensor,
        action_mask: torch.Tensor | None = None,
        return_dict: bool = True,
        conditioning: ImageConditioning | None = None,
    ) -> WorldModelOutput | tuple[torch.Tensor]:
        """Predict the noise (or v) of every frame.

        Args:
            sample: [B, F, C, H, W] frames, each noised to its own level.
            timesteps: [B, F] noise level of each frame (0 = clean, up to the schedule's length).
            actions: [B, F, A]; actions[:, t] is the action taken after frame t: frame t+1 is
                conditioned on it, frame 0 on "no action", and actions[:, F-1] is unused.
            action_mask: [B, F] bool, False = that action dropped. Default: all kept.
            conditioning: for `conditioning="image"` models, the window's first frame as
                `ImageConditioning` (batch B or 1); unused otherwise.

        Returns:
            `WorldModelOutput` with `.sample` [B, F, C, H, W]. Output at frame t depends on no frame
            or noise level after t and on no action at index >= t.
        """
        action_mask = self._check_inputs(sample, timesteps, actions, action_mask)
        self._check_conditioning(conditioning)
        led_to, keep = actions_leading_to_frames(actions, action_mask)
        out = self._denoise(sample, timesteps, led_to, keep, cache=None, conditioning=conditioning)
        return WorldModelOutput(sample=out) if return_dict else (out,)

    def forward_cached(
        self,
        sample: torch.Tensor,
        timesteps: torch.Tensor,
        led_to_actions: torch.Tensor,
        led_to_mask: torch.Tensor,
        cache: FrameCache,
        commit: bool = False,
    ) -> torch.Tensor:
        """Run only new frames, which follow the frames already in `cache`.

        Gives what `forward` gives for these frames on the whole clip (cached frames first), at the
        cost of the new frames alone.

        Args:
            sample: [B, n, C, H, W] the new frames; B may be a multiple of the cache's batch.
            timesteps: [B, n] their noise levels.
            led_to_actions: [B, n, A]; entry i is the action taken just before new frame i.
            led_to_mask: [B, n] bool, False = no action for that frame.
            cache: filled by earlier calls with `commit=True`; for `conditioning="image"` models its
                `conditioning` holds the window's first frame's (set before the first call).
            commit: add these frames to the cache (for frames that later frames will see).

        Returns:
            [B, n, C, H, W] the prediction for the new frames.
        """
        self._check_conditioning(cache.conditioning)
        cache.begin(sample.shape[0], commit)
        try:
            return self._denoise(sample, timesteps, led_to_actions, led_to_mask, cache, cache.conditioning)
        finally:
            cache.end(sample.shape[1])

    def _denoise(self, sample, timesteps, led_to, keep, cache: FrameCache | None, conditioning=None):
        """The U-Net walk of `forward`, with per-frame embeddings; see `forward` for shapes."""
        for user in self._cache_users:
            user.cache = cache
        try:
            return self._walk_unet(sample, timesteps, led_to, keep, cache, conditioning)
        finally:
            for user in self._cache_users:
                user.cache = None
            for norm in self._scaled_norms:
                norm.frame_scale = None

    def _walk_unet(self, sample, timesteps, led_to, keep, cache, conditioning) -> torch.Tensor:
        batch, frames = sample.shape[:2]
        unet = self.unet
        emb = self.frame_embedding(timesteps, led_to, keep).flatten(0, 1)
        if self._scaled_norms:  # as the ResBlocks' own bias path does: SiLU, then a linear layer
            activated = nn.functional.silu(emb)
            for norm, layer in zip(self._scaled_norms, self.embedding_scales, strict=True):
                norm.frame_scale = layer(activated)
        image_only_indicator = torch.zeros(batch, frames, dtype=sample.dtype, device=sample.device)
        if conditioning is not None:  # Stable Video Diffusion's: CLIP context, clean latent channels
            conditioning = conditioning.for_batch(batch).to(sample.device, sample.dtype)
            context = conditioning.embedding.repeat_interleave(frames, dim=0)
            sample = torch.cat([sample, conditioning.latent.expand(-1, frames, -1, -1, -1)], dim=2)
        else:
            context = self.context_embedding.to(sample.dtype).expand(batch * frames, -1, -1)
            if unet.config.in_channels > self.sample_channels:
                sample = torch.cat(
                    [sample, self._first_frame(sample, cache).expand(-1, frames, -1, -1, -1)], dim=2
                )

        hidden = unet.conv_in(sample.flatten(0, 1))
        # When H or W is not a multiple of the total stride, up blocks are told their output size.
        stride = 2**unet.num_upsamplers
        explicit_sizes = any(s % stride for s in sample.shape[-2:])
        skips = (hidden,)
        for block in unet.down_blocks:
            kwargs = (
                {"encoder_hidden_states": context} if getattr(block, "has_cross_attention", False) else {}
            )
            hidden, res = block(
                hidden_states=hidden, temb=emb, image_only_indicator=image_only_indicator, **kwargs
            )
            skips += res
        hidden = unet.mid_block(
            hidden_states=hidden,
            temb=emb,
            encoder_hidden_states=context,
            image_only_indicator=image_only_indicator,
        )
        for i, block in enumerate(unet.up_blocks):
            res, skips = skips[-len(block.resnets) :], skips[: -len(block.resnets)]
            is_last = i == len(unet.up_blocks) - 1
            upsample_size = skips[-1].shape[2:] if explicit_sizes and not is_last else None
            kwargs = (
                {"encoder_hidden_states": context} if getattr(block, "has_cross_attention", False) else {}
            )
            hidden = block(
                hidden_states=hidden,
                temb=emb,
                res_hidden_states_tuple=res,
                upsample_size=upsample_size,
                image_only_indicator=image_only_indicator,
                **kwargs,
            )
        hidden = unet.conv_out(unet.conv_act(unet.conv_norm_out(hidden)))
        return hidden.reshape(batch, frames, *hidden.shape[1:])

    def _first_frame(self, sample: torch.Tensor, cache: FrameCache | None) -> torch.Tensor:
        """Image-to-video bases also take a conditioning image in extra channels: the window's first
        frame, which every later frame may see. [B, 1, C, H, W]."""
        if cache is None:
            return sample[:, :1]
        if cache.first_frame is None:  # nothing committed yet: this call holds the window's first frame
            if cache.commit:
                cache.first_frame = sample[:, :1]
            return sample[:, :1]
        return broadcast_batch(cache.first_frame, sample.shape[0])

    def frame_embedding(
        self, timesteps: torch.Tensor, led_to: torch.Tensor, keep: torch.Tensor
    ) -> torch.Tensor:
        """[B, F] noise levels + [B, F, A] actions leading to each frame -> [B, F, D] ResBlock embeddings."""
        unet = self.unet
        batch, frames = timesteps.shape
        dtype = self.context_embedding.dtype
        noise_level = unet.time_embedding(unet.time_proj(timesteps.flatten()).to(dtype)).view(
            batch, frames, -1
        )
        ids = torch.tensor(self.config.added_time_ids, dtype=dtype, device=timesteps.device)
        micro = unet.add_embedding(unet.add_time_proj(ids).reshape(1, -1).to(dtype))
        return noise_level + micro[:, None] + self.action_embedding(led_to.to(dtype), keep)

    def _check_conditioning(self, conditioning: ImageConditioning | None) -> None:
        if (conditioning is not None) != (self.config.conditioning == "image"):
            given = "given" if conditioning is not None else "not given"
            raise ValueError(
                "`conditioning` (an ImageConditioning of the window's first frame) is required by "
                f"conditioning='image' models and unused by others: this model's is "
                f"{self.config.conditioning!r}, and one was {given}."
            )

    def _check_inputs(self, sample, timesteps, actions, action_mask) -> torch.Tensor:
        if sample.ndim != 5 or sample.shape[2] != self.sample_channels:
            raise ValueError(
                f"`sample` must be [B, F, {self.sample_channels}, H, W]. Got {tuple(sample.shape)}."
            )
        batch, frames = sample.shape[:2]
        if timesteps.shape != (batch, frames):
            raise ValueError(
                f"`timesteps` must be [B, F] = [{batch}, {frames}]. Got {tuple(timesteps.shape)}."
            )
        action_dim = self.config.action_dim
        if actions.shape != (batch, frames, action_dim):
            raise ValueError(
                f"`actions` must be [B, F, A] = [{batch}, {frames}, {action_dim}]. "
                f"Got {tuple(actions.shape)}."
            )
        if action_mask is None:
            return torch.ones(batch, frames, dtype=torch.bool, device=sample.device)
        if action_mask.shape != (batch, frames) or action_mask.dtype != torch.bool:
            raise ValueError(
                f"`action_mask` must be a bool tensor [B, F] = [{batch}, {frames}]. "
                f"Got {action_mask.dtype} {tuple(action_mask.shape)}."
            )
        return action_mask
