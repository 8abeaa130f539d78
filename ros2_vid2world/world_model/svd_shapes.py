"""Stable Video Diffusion XT's shapes with random weights: a full-size pipeline folder to measure
causalization, memory, time and FLOPs on, written locally (nothing is downloaded).

    python -m ros2_vid2world.world_model.svd_shapes OUT [--seed 0]

writes what stabilityai/stable-video-diffusion-img2vid-xt's fp16 download holds, part for part and
shape for shape (model_index.json, unet/, vae/, image_encoder/, feature_extractor/, scheduler/, every
weight as `*.fp16.safetensors`), from its published configs below. The weights are each class's own
random initialisation: the folder measures cost, never quality. Each module is created directly in
half precision, so building it holds the fp16 size (about 4.5 GB), never a float32 copy.
"""

from __future__ import annotations

import argparse
import json
import logging
from contextlib import contextmanager
from pathlib import Path

import torch

# stable-video-diffusion-img2vid-xt unet/config.json. diffusers' UNetSpatioTemporalConditionModel
# defaults are these values (but for sample_size); written out so a change of defaults cannot change them.
SVD_XT_UNET = dict(
    sample_size=96,
    in_channels=8,
    out_channels=4,
    down_block_types=(
        "CrossAttnDownBlockSpatioTemporal",
        "CrossAttnDownBlockSpatioTemporal",
        "CrossAttnDownBlockSpatioTemporal",
        "DownBlockSpatioTemporal",
    ),
    up_block_types=(
        "UpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
        "CrossAttnUpBlockSpatioTemporal",
    ),
    block_out_channels=(320, 640, 1280, 1280),
    addition_time_embed_dim=256,
    projection_class_embeddings_input_dim=768,
    layers_per_block=2,
    cross_attention_dim=1024,
    transformer_layers_per_block=1,
    num_attention_heads=(5, 10, 20, 20),
    num_frames=25,
)
# vae/config.json: the SD 2.1 autoencoder's encoder with SVD's temporal decoder, 8x downsampling.
SVD_XT_VAE = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("DownEncoderBlock2D",) * 4,
    block_out_channels=(128, 256, 512, 512),
    layers_per_block=2,
    latent_channels=4,
    sample_size=768,
    scaling_factor=0.18215,
    force_upcast=True,
)
# image_encoder/config.json: OpenCLIP ViT-H/14's vision tower with its 1024-value projection.
SVD_XT_IMAGE_ENCODER = dict(
    hidden_size=1280,
    intermediate_size=5120,
    projection_dim=1024,
    num_hidden_layers=32,
    num_attention_heads=16,
    num_channels=3,
    image_size=224,
    patch_size=14,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
)
# feature_extractor/preprocessor_config.json: CLIP's normalisation at 224 x 224.
SVD_XT_FEATURE_EXTRACTOR = dict(
    image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
    crop_size=224,
    size={"shortest_edge": 224},
)
# scheduler/scheduler_config.json: the EDM sampler diffusers runs SVD with (continuous noise levels).
SVD_SCHEDULER = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
    prediction_type="v_prediction", timestep_type="continuous", use_karras_sigmas=True,
    sigma_min=0.002, sigma_max=700.0, interpolation_type="linear", timestep_spacing="leading",
    steps_offset=1,
)
PARTS = ("unet", "vae", "image_encoder")


@contextmanager
def created_in(dtype: torch.dtype):
    """Modules created in this block get `dtype` parameters from the start (no float32 copy first)."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def svd_parts(
    seed: int = 0,
    dtype: torch.dtype = torch.float16,
    unet_config: dict | None = None,
    vae_config: dict | None = None,
    image_encoder_config: dict | None = None,
) -> dict:
    """The five parts of a StableVideoDiffusionPipeline in `dtype`, random weights seeded per part.

    The configs default to SVD-XT's (above); smaller ones give the same wiring at another size.
    Returns a dict with keys unet, vae, image_encoder, feature_extractor, scheduler.
    """
    from diffusers import (
        AutoencoderKLTemporalDecoder,
        EulerDiscreteScheduler,
        UNetSpatioTemporalConditionModel,
    )
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    parts = {}
    with created_in(dtype):
        torch.manual_seed(seed)
        parts["unet"] = UNetSpatioTemporalConditionModel(**(unet_config or SVD_XT_UNET)).eval()
        torch.manual_seed(seed + 1)
        parts["vae"] = AutoencoderKLTemporalDecoder(**(vae_config or SVD_XT_VAE)).eval()
        torch.manual_seed(seed + 2)
        encoder_config = CLIPVisionConfig(**(image_encoder_config or SVD_XT_IMAGE_ENCODER))
        parts["image_encoder"] = CLIPVisionModelWithProjection(encoder_config).eval()
    parts["feature_extractor"] = _clip_processor()(**SVD_XT_FEATURE_EXTRACTOR)
    parts["scheduler"] = EulerDiscreteScheduler(**SVD_SCHEDULER)
    return parts


def parameter_counts(parts: dict) -> dict[str, int]:
    """Parameters of each model part (unet, vae, image_encoder) and their total."""
    counts = {part: sum(p.numel() for p in parts[part].parameters()) for part in PARTS}
    counts["total"] = sum(counts.values())
    return counts


def write_svd_pipeline(
    path: str | Path, fp16_variant: bool = True, seed: int = 0, **configs
) -> dict[str, int]:
    """save_pretrained of a StableVideoDiffusionPipeline of `svd_parts(seed, **configs)`; with
    `fp16_variant` (as SVD-XT's fp16 download) the weights are half precision in `*.fp16.safetensors`
    only, else float32 in plain `*.safetensors`. Returns `parameter_counts` of the parts written."""
    from diffusers import StableVideoDiffusionPipeline

    parts = svd_parts(seed, torch.float16 if fp16_variant else torch.float32, **configs)
    counts = parameter_counts(parts)
    pipe = StableVideoDiffusionPipeline(**parts)
    pipe.save_pretrained(path, safe_serialization=True, variant="fp16" if fp16_variant else None)
    # The index names the processor as SVD-XT's does (without torchvision, transformers 5 records the
    # class of its PIL fallback, which older transformers cannot import).
    index = Path(path) / "model_index.json"
    entries = json.loads(index.read_text())
    entries["feature_extractor"] = ["transformers", "CLIPImageProcessor"]
    index.write_text(json.dumps(entries, indent=2) + "\n")
    return counts


def _clip_processor():
    try:  # transformers 5 without torchvision: the PIL processor (the same config, no warning)
        from transformers import CLIPImageProcessorPil as CLIPImageProcessor
    except ImportError:
        from transformers import CLIPImageProcessor
    return CLIPImageProcessor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ros2_vid2world.world_model.svd_shapes",
        description="Write a Stable Video Diffusion XT-shaped pipeline folder with random fp16 weights "
        "(nothing is downloaded) and print its parameter counts.",
    )
    parser.add_argument("out", type=Path, help="pipeline folder to write (must not exist)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{str(args.out)!r} already exists.")
    logging.getLogger("transformers.utils.import_utils").setLevel(logging.ERROR)
    counts = write_svd_pipeline(args.out, seed=args.seed)
    print(json.dumps({"out": str(args.out), "parameters": counts}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
