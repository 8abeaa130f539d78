"""Between camera images and the space the world model works in: pixels, or an autoencoder's latents."""

from __future__ import annotations

import torch
from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder

SUPPORTED_AUTOENCODERS = (AutoencoderKL, AutoencoderKLTemporalDecoder)


class LatentCodec:
    """Encodes frames [B, F, 3, H, W] in [-1, 1] to model space and back.

    With no autoencoder the model works on pixels and this is the identity. With one, frames are
    encoded to the latent mode (deterministic, so a plan does not change with encoder noise) times
    `scaling_factor`. Frames are decoded one at a time, so a temporal decoder cannot mix an imagined
    frame with later ones.
    """

    def __init__(self, vae: AutoencoderKL | AutoencoderKLTemporalDecoder | None = None):
        if vae is not None and not isinstance(vae, SUPPORTED_AUTOENCODERS):
            raise ValueError(
                f"`vae` must be None or one of {[c.__name__ for c in SUPPORTED_AUTOENCODERS]}. "
                f"Got {type(vae).__name__}."
            )
        self.vae = vae

    @property
    def scaling_factor(self) -> float:
        return 1.0 if self.vae is None else float(self.vae.config.scaling_factor)

    @property
    def spatial_factor(self) -> int:
        """Image size / model-space size."""
        return 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """[B, F, 3, H, W] in [-1, 1] -> [B, F, C, H/f, W/f]."""
        if self.vae is None:
            return frames
        batch, count = frames.shape[:2]
        latents = self.vae.encode(frames.flatten(0, 1).to(self.vae.dtype)).latent_dist.mode()
        return (latents * self.scaling_factor).unflatten(0, (batch, count)).to(frames.dtype)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """[B, F, C, h, w] -> [B, F, 3, h*f, w*f] in [-1, 1]."""
        if self.vae is None:
            return latents.clamp(-1, 1)
        batch, count = latents.shape[:2]
        flat = latents.flatten(0, 1).to(self.vae.dtype) / self.scaling_factor
        if isinstance(self.vae, AutoencoderKLTemporalDecoder):
            frames = self.vae.decode(flat, num_frames=1).sample
        else:
            frames = self.vae.decode(flat).sample
        return frames.unflatten(0, (batch, count)).clamp(-1, 1).to(latents.dtype)


def images_to_unit_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 [..., H, W, 3] -> float [..., 3, H, W] in [-1, 1]."""
    return images.movedim(-1, -3).float() / 127.5 - 1.0


def unit_range_to_images(frames: torch.Tensor) -> torch.Tensor:
    """float [..., 3, H, W] in [-1, 1] -> uint8 [..., H, W, 3]."""
    return ((frames.clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8).movedim(-3, -1)
