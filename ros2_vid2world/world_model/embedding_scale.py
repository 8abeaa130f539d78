"""FiLM for the spatio-temporal ResBlocks: the frame embedding (noise level and action) scales each
block's normalised features per channel, besides the bias the base already adds.

Why: the base adds the embedding as a per-channel bias right before a GroupNorm. A bias can only
turn channels on or off through the following SiLU, and the norm removes part of it (the mean of each
group). Moving a small thing by an amount the action says (the push task's pusher, 4 pixels across,
goes up to 7 pixels per step) takes choosing, per action, which shifted copy of its features to keep:
a product of action and features. A scale gives the product directly (Perez et al. 2018, FiLM; the
"scale_shift" norm of diffusers' ResnetBlock2D). The scales start at zero, so a model built with them
computes what it computed without them until training moves them.
"""

from __future__ import annotations

import torch

from .frame_norm import FrameGroupNorm


class EmbeddingScaledGroupNorm(FrameGroupNorm):
    """A ResBlock's second GroupNorm, then x (1 + scale) per channel and frame.

    `frame_scale` [B*F, C] is set by the model around each U-Net walk (None: no scaling). The spatial
    ResBlock's features are [B*F, C, H, W]; the temporal one's [B, C, F, H, W] (normalised per frame,
    see `FrameGroupNorm`). Weight and bias keep the names of the norm replaced, so base weights load.
    """

    frame_scale: torch.Tensor | None = None

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        hidden_states = super().forward(hidden_states)
        scale = self.frame_scale
        if scale is None:
            return hidden_states
        if hidden_states.ndim == 5:
            batch, channels, frames = hidden_states.shape[:3]
            scale = scale.view(batch, frames, channels).transpose(1, 2)[..., None, None]
        else:
            scale = scale[:, :, None, None]
        return hidden_states * (1 + scale.to(hidden_states.dtype))


def scale_resblock_norms(unet: torch.nn.Module) -> list[EmbeddingScaledGroupNorm]:
    """Replace, in place, the second norm of every ResBlock that adds the frame embedding (spatial and
    temporal) by an `EmbeddingScaledGroupNorm`; returns them in module order."""
    scaled = []
    for module in list(unet.modules()):
        sees_embedding = getattr(module, "time_emb_proj", None) is not None
        if sees_embedding and isinstance(module.norm2, torch.nn.GroupNorm):
            norm = module.norm2
            module.norm2 = EmbeddingScaledGroupNorm(
                norm.num_groups, norm.num_channels, norm.eps, norm.affine
            )
            scaled.append(module.norm2)
    return scaled
