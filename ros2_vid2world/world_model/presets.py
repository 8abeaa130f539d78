"""Named random-init base U-Net architectures, for tests, demos and training from scratch."""

from __future__ import annotations

from diffusers import UNetSpatioTemporalConditionModel

# Pixel-space models: 3 channels in and out, no autoencoder. GroupNorm in the diffusers
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
    # The demo's reacher model: 32x32 RGB, 2.0 M parameters, sized for planning on a 2-core CPU,
    # where a decision costs hundreds of frame evaluations and the model is FLOP-bound. Attention
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
}


def base_unet_from_preset(name: str, seed: int = 0) -> UNetSpatioTemporalConditionModel:
    """A randomly initialised base U-Net of a named architecture (the same weights for the same seed)."""
    import torch

    if name not in BASE_PRESETS:
        raise ValueError(f"`preset` must be one of {sorted(BASE_PRESETS)}. Got {name!r}.")
    torch.manual_seed(seed)
    return UNetSpatioTemporalConditionModel(**BASE_PRESETS[name])
