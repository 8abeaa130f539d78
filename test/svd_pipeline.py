"""A tiny Stable Video Diffusion pipeline folder, written with diffusers' and transformers' own classes.

Every part has SVD-XT's kind and wiring (an image-to-video UNetSpatioTemporalConditionModel with 4
latent channels plus 4 conditioning channels, an AutoencoderKLTemporalDecoder, a CLIP image encoder
whose projection feeds the U-Net's cross-attention, SVD's EulerDiscreteScheduler with continuous EDM
noise), at a size that runs in milliseconds: frames of 32 x 32 pixels, latents of 8 x 8.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ros2_vid2world.world_model.svd_shapes import SVD_SCHEDULER  # SVD-XT's scheduler_config.json

LATENT_CHANNELS = 4
CROSS_ATTENTION_DIM = 32
IMAGE_SIZE = 32  # pixels; the VAE downsamples by 4 (three blocks), so latents are 8 x 8


def tiny_svd_parts(
    seed: int = 0, projection_dim: int = CROSS_ATTENTION_DIM, vae_latents: int = LATENT_CHANNELS
):
    """The five parts; `projection_dim` and `vae_latents` may be set to mismatch the U-Net."""
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    unet = UNetSpatioTemporalConditionModel(
        sample_size=IMAGE_SIZE // 4,
        in_channels=2 * LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=CROSS_ATTENTION_DIM,
        transformer_layers_per_block=1,
        num_attention_heads=(2, 4),
        num_frames=6,
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
    )
    vae = AutoencoderKLTemporalDecoder(
        in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 3,
        block_out_channels=(32, 32, 32), layers_per_block=1, latent_channels=vae_latents,
        sample_size=IMAGE_SIZE, scaling_factor=0.18215,
    )
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32, intermediate_size=64, projection_dim=projection_dim, num_hidden_layers=2,
            num_attention_heads=2, image_size=224, patch_size=32,
        )
    )
    processor = CLIPImageProcessor(crop_size=224, size={"shortest_edge": 224})
    scheduler = EulerDiscreteScheduler(**SVD_SCHEDULER)
    return unet.eval(), vae.eval(), encoder.eval(), processor, scheduler


def write_tiny_svd_pipeline(path: Path, fp16_variant: bool = False, **part_options) -> Path:
    """save_pretrained of a StableVideoDiffusionPipeline made of `tiny_svd_parts` (model_index.json,
    unet/, vae/, image_encoder/, feature_extractor/, scheduler/); with `fp16_variant`, the weights are
    written in half precision as `*.fp16.safetensors` only, as SVD-XT's fp16 files are shipped."""
    from diffusers import StableVideoDiffusionPipeline

    unet, vae, encoder, processor, scheduler = tiny_svd_parts(**part_options)
    pipe = StableVideoDiffusionPipeline(
        vae=vae, image_encoder=encoder, unet=unet, scheduler=scheduler, feature_extractor=processor
    )
    if fp16_variant:
        pipe = pipe.to(torch.float16)
        pipe.save_pretrained(path, variant="fp16", safe_serialization=True)
    else:
        pipe.save_pretrained(path, safe_serialization=True)
    return path
