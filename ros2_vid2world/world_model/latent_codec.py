"""Between camera images and the space the world model works in: pixels, pixel patches, or latents."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder

SUPPORTED_AUTOENCODERS = (AutoencoderKL, AutoencoderKLTemporalDecoder)


def is_patch_size(value) -> bool:
    """An integer >= 1 (and not a bool, which Python counts as an integer)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


class LatentCodec:
    """Encodes frames [B, F, 3, H, W] in [-1, 1] to model space and back.

    With no autoencoder the model works on pixels: the identity, or with `patch_size` p > 1 each
    p x p patch folded into channels (pixel unshuffle: [3, H, W] -> [3 p^2, H/p, W/p]). Patches cost
    nothing to encode or decode and lose nothing, yet cut the model's spatial size by p in each
    direction, which is what makes hundreds of imagined frames per decision affordable on a CPU.
    With an autoencoder, frames are encoded to the latent mode (deterministic, so a plan does not
    change with encoder noise) times `scaling_factor`. Frames are decoded one at a time, so a
    temporal decoder cannot mix an imagined frame with later ones.
    """

    def __init__(self, vae: AutoencoderKL | AutoencoderKLTemporalDecoder | None = None, patch_size: int = 1):
        if vae is not None and not isinstance(vae, SUPPORTED_AUTOENCODERS):
            raise ValueError(
                f"`vae` must be None or one of {[c.__name__ for c in SUPPORTED_AUTOENCODERS]}. "
                f"Got {type(vae).__name__}."
            )
        if not is_patch_size(patch_size):
            raise ValueError(f"`patch_size` must be an integer >= 1. Got {patch_size!r}.")
        if vae is not None and patch_size != 1:
            raise ValueError(f"`patch_size` must be 1 with an autoencoder. Got {patch_size}.")
        self.vae = vae
        self.patch_size = patch_size

    @property
    def scaling_factor(self) -> float:
        return 1.0 if self.vae is None else float(self.vae.config.scaling_factor)

    @property
    def spatial_factor(self) -> int:
        """Image size / model-space size."""
        return self.patch_size if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)

    @torch.no_grad()
    def encode(self, frames: torch.Tensor) -> torch.Tensor:
        """[B, F, 3, H, W] in [-1, 1] -> [B, F, C, H/f, W/f]."""
        if self.vae is None:
            return frames if self.patch_size == 1 else F.pixel_unshuffle(frames, self.patch_size)
        batch, count = frames.shape[:2]
        latents = self.vae.encode(frames.flatten(0, 1).to(self.vae.dtype)).latent_dist.mode()
        return (latents * self.scaling_factor).unflatten(0, (batch, count)).to(frames.dtype)

    @torch.no_grad()
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """[B, F, C, h, w] -> [B, F, 3, h*f, w*f] in [-1, 1]."""
        if self.vae is None:
            pixels = latents if self.patch_size == 1 else F.pixel_shuffle(latents, self.patch_size)
            return pixels.clamp(-1, 1)
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
