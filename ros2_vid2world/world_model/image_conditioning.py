"""Stable Video Diffusion's own conditioning, kept so that its knowledge survives the transfer.

An image-to-video base like SVD sees its conditioning frame twice: as a CLIP image embedding (the
U-Net's cross-attention context) and as a VAE latent concatenated to every frame's channels. Both are
computed here the way diffusers' StableVideoDiffusionPipeline computes them: the embedding from the
clean frame resized to 224 x 224 with antialiasing and normalised with the CLIP processor's mean and
std; the latent as the VAE's latent mode of the frame plus `noise_aug_strength` Gaussian noise, not
multiplied by the VAE's scaling factor. A world model computes them once per decision (the planner)
or per clip (training), from the window's first frame.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from .frame_cache import broadcast_batch


@dataclass
class ImageConditioning:
    """latent: [B, 1, C, h, w] the conditioning frame's VAE latent (noise-augmented, unscaled);
    embedding: [B, 1, D] its CLIP image embedding. Batch 1 is shared by every rollout of a call."""

    latent: torch.Tensor
    embedding: torch.Tensor

    def for_batch(self, batch: int) -> ImageConditioning:
        return ImageConditioning(broadcast_batch(self.latent, batch), broadcast_batch(self.embedding, batch))

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> ImageConditioning:
        return ImageConditioning(self.latent.to(device, dtype), self.embedding.to(device, dtype))


class ImageConditioner:
    """Frames -> `ImageConditioning` with a base's VAE, CLIP image encoder and feature extractor.

    Args:
        vae: the base's autoencoder (AutoencoderKLTemporalDecoder for SVD).
        image_encoder: a transformers CLIPVisionModelWithProjection.
        image_mean, image_std: the CLIP processor's normalisation (feature_extractor/).
        noise_aug_strength: SVD's noise augmentation of the conditioning frame (also the third of the
            model's added_time_ids, as the pipeline passes one value to both).
    """

    def __init__(self, vae, image_encoder, image_mean, image_std, noise_aug_strength: float):
        if not noise_aug_strength >= 0:
            raise ValueError(f"`noise_aug_strength` must be >= 0. Got {noise_aug_strength}.")
        self.vae, self.image_encoder = vae, image_encoder
        self.mean = torch.tensor(image_mean, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(image_std, dtype=torch.float32).view(1, 3, 1, 1)
        self.noise_aug_strength = float(noise_aug_strength)

    @torch.no_grad()
    def __call__(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> ImageConditioning:
        """frames [B, 3, H, W] in [-1, 1] -> conditioning of batch B."""
        return ImageConditioning(self.latent(frames, generator), self.embedding(frames))

    @torch.no_grad()
    def embedding(self, frames: torch.Tensor) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> [B, 1, D] CLIP image embeddings of the clean frames."""
        pixels = (_diffusers_resize()(frames.float(), (224, 224)) + 1.0) / 2.0
        pixels = (pixels - self.mean.to(pixels.device)) / self.std.to(pixels.device)
        encoder = self.image_encoder
        embeds = encoder(pixels.to(encoder.device, encoder.dtype)).image_embeds
        return embeds.unsqueeze(1).to(frames.dtype)

    @torch.no_grad()
    def latent(self, frames: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """[B, 3, H, W] in [-1, 1] -> [B, 1, C, h, w]: the latent mode of the noise-augmented frames."""
        noise = torch.randn(frames.shape, generator=generator, device=frames.device, dtype=frames.dtype)
        augmented = frames + self.noise_aug_strength * noise
        vae = self.vae
        latents = vae.encode(augmented.to(vae.device, vae.dtype)).latent_dist.mode()
        return latents.unsqueeze(1).to(frames.dtype)


def _diffusers_resize():
    """diffusers' own resize of the SVD pipeline (for PIL input): antialiased bicubic in [-1, 1].

    Importing the pipeline module imports transformers' CLIPImageProcessor, which without torchvision
    (not installable beside this torch) warns that it falls back to the PIL processor; nothing here
    uses that processor, so the warning is kept from users.
    """
    quiet = logging.getLogger("transformers.utils.import_utils")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        from diffusers.pipelines.stable_video_diffusion.pipeline_stable_video_diffusion import (
            _resize_with_antialiasing,
        )
    finally:
        quiet.setLevel(level)
    return _resize_with_antialiasing
