"""Named random-init base U-Net architectures, for tests, demos and training from scratch."""

from __future__ import annotations

from diffusers import UNetSpatioTemporalConditionModel

# Pixel-space models, no autoencoder: 3 channels in and out, or 3 p^2 for p x p pixel patches
# (PATCH_SIZES; sample_size is then the image size / p). GroupNorm in the diffusers
# spatio-temporal blocks uses 32 groups, so every width is a multiple of 32.
BASE_PRESETS: dict[str, dict] = {
    "tiny": dict(
        sample_size=16,
        in_channels=3,
        out_channels=3,
        num_frames=8,
        down_block_types=["CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"],
        up_block_types=["UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"],
        block_out_channels=[32, 64],
        layers_per_block=1,
        transformer_layers_per_block=1,
        num_attention_heads=[2, 4],
        cross_attention_dim=32,
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
    ),
    # The demo's reacher model: 32x32 RGB (pixel space), 2.0 M parameters, sized for planning on a
    # 2-core CPU, where a decision costs hundreds of frame evaluations and the model is FLOP-bound. Attention
    # (spatial, and the causal temporal attention) only at 8x8 and in the mid block; causal temporal
    # convolutions at every level. Measured on one core: 8 ms per frame in a batch of 64, and 1.2 s
    # per training step of 8 six-frame clips. (With [32, 64, 64] and attention at 16x16 too: 17 ms
    # and 2.4 s, for no visible gain on this data.)
    "demo": dict(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        num_frames=6,
        down_block_types=[
            "DownBlockSpatioTemporal",
            "DownBlockSpatioTemporal",
            "CrossAttnDownBlockSpatioTemporal",
        ],
        up_block_types=[
            "CrossAttnUpBlockSpatioTemporal",
            "UpBlockSpatioTemporal",
            "UpBlockSpatioTemporal",
        ],
        block_out_channels=[32, 32, 64],
        layers_per_block=1,
        transformer_layers_per_block=1,
        num_attention_heads=[1, 1, 2],
        cross_attention_dim=32,
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
    ),
    # 32x32 RGB seen as 8x8 patches of 4x4 pixels (48 channels, see `LatentCodec`), 2.6 M
    # parameters: the fast one. Measured on one core: 1.45 ms per frame in a batch of 64 and 0.26 s
    # per training step of 8 six-frame clips, against 10 ms and 1.2 s for "demo". But 64 channels
    # are too few to carry 48-channel patches through the network: on the reacher, after the same
    # hour of CPU training, its loss stayed 3-5x higher and its held-out one-step predictions were
    # worse (PSNR 25.0 dB against 26.5, SSIM 0.64 against 0.67), and worse still with more denoising
    # steps; the demo plans with "demo". Attention at 4x4 and in the mid block.
    "patch4": dict(
        sample_size=8,
        in_channels=48,
        out_channels=48,
        num_frames=6,
        down_block_types=["DownBlockSpatioTemporal", "CrossAttnDownBlockSpatioTemporal"],
        up_block_types=["CrossAttnUpBlockSpatioTemporal", "UpBlockSpatioTemporal"],
        block_out_channels=[64, 64],
        layers_per_block=1,
        transformer_layers_per_block=1,
        num_attention_heads=[2, 2],
        cross_attention_dim=32,
        addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
    ),
}


# The demo layout on 32x32 RGB seen as 16x16 patches of 2x2 pixels (12 channels), 2.4 M parameters.
# Measured on one core of a 2-core AMD EPYC: 0.61 s per training step of 8 six-frame clips and 3.8 ms
# per frame in a batch of 64, against 2.0 s and 11 ms for "demo" on the same machine. Unlike patch4,
# the 12 channels of a patch fit easily in the first level's 32. Attention at 4x4 and in the mid block.
BASE_PRESETS["patch2"] = {
    **BASE_PRESETS["demo"],
    "sample_size": 16,
    "in_channels": 12,
    "out_channels": 12,
    "block_out_channels": [32, 64, 64],
    "num_attention_heads": [1, 2, 2],
}

# The reacher's image-to-video model, patch2 at 64 channels throughout. Image-to-video the way
# Stable Video Diffusion is: the window's first frame enters every frame in 12 extra input
# channels, so what stays in place is copied from it at full resolution instead of through the
# temporal layers (with the planner's history_frames 1, that frame is the current camera image).
# 64 channels everywhere because the spatio-temporal ResBlocks add the time embedding (noise
# level + action) as a per-channel bias right before a 32-group GroupNorm: at 32 channels each
# group is one channel, whose spatial mean the norm subtracts, so the bias, and with it every
# action, vanishes exactly (measured: 3e-7 relative change of that norm's output between two
# actions, against 0.8-0.9 at 64 channels). The 32-channel levels of "demo" and "patch2" never
# see the action or the noise level. 3.1 M parameters, 1.5x patch2's cost per frame.
BASE_PRESETS["patch2_i2v"] = {
    **BASE_PRESETS["patch2"],
    "in_channels": 24,
    "block_out_channels": [64, 64, 64],
    "num_attention_heads": [2, 2, 2],
}

# The pushing task's model: 64x64 RGB as 16x16 patches of 4x4 pixels (48 channels, 96 with the first
# frame's), so the same 16x16 grid and widths as patch2_i2v and the same cost per frame (measured on
# one core of the 2-core Emerald Rapids Xeon: 0.49 s per training step of 8 six-frame clips against
# 0.49 s for patch2_i2v at 32x32, and 0.90 s with 96 channels throughout). 64x64 because the push task's
# tolerance (2 cm) is 2.4 pixels at 64 px across 0.54 m, and 1.2 at 32.
BASE_PRESETS["patch4_i2v"] = {
    **BASE_PRESETS["patch2_i2v"],
    "in_channels": 96,
    "out_channels": 48,
}

PATCH_SIZES: dict[str, int] = {
    "tiny": 1, "demo": 1, "patch2": 2, "patch2_i2v": 2, "patch4": 4, "patch4_i2v": 4,
}


def base_unet_from_preset(name: str, seed: int = 0) -> UNetSpatioTemporalConditionModel:
    """A randomly initialised base U-Net of a named architecture (the same weights for the same seed)."""
    import torch

    if name not in BASE_PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(BASE_PRESETS)}. Got {name!r}.")
    torch.manual_seed(seed)
    return UNetSpatioTemporalConditionModel(**BASE_PRESETS[name])
