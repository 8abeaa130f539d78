"""svd_shapes: SVD-XT's published shapes (checked on the meta device: nothing is allocated) and the
writer of fp16 pipeline folders (run at a tiny size), which load as SVD-XT's own download loads."""

from __future__ import annotations

import json

import pytest
import torch

from ros2_vid2world.world_model.base_pipeline import load_base
from ros2_vid2world.world_model.svd_shapes import (
    SVD_XT_IMAGE_ENCODER,
    SVD_XT_UNET,
    SVD_XT_VAE,
    main,
    parameter_counts,
    write_svd_pipeline,
)

TINY = dict(
    unet_config=dict(
        sample_size=8, block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"),
        num_attention_heads=(2, 4), num_frames=6, addition_time_embed_dim=8,
        projection_class_embeddings_input_dim=24,
    ),
    vae_config=dict(
        down_block_types=("DownEncoderBlock2D",) * 3, block_out_channels=(32, 32, 32), latent_channels=4,
        sample_size=32,
    ),
    image_encoder_config=dict(
        hidden_size=32, intermediate_size=64, projection_dim=32, num_hidden_layers=2, num_attention_heads=2,
        image_size=224, patch_size=32,
    ),
)


def test_the_configs_have_svd_xt_parameter_counts():
    from diffusers import AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    with torch.device("meta"):
        parts = {
            "unet": UNetSpatioTemporalConditionModel(**SVD_XT_UNET),
            "vae": AutoencoderKLTemporalDecoder(**SVD_XT_VAE),
            "image_encoder": CLIPVisionModelWithProjection(CLIPVisionConfig(**SVD_XT_IMAGE_ENCODER)),
        }
    # SVD's 1.52 B-parameter U-Net, its temporal-decoder VAE, OpenCLIP ViT-H/14's vision tower.
    assert parameter_counts(parts) == {
        "unet": 1_524_623_082, "vae": 97_742_847, "image_encoder": 632_076_800, "total": 2_254_442_729,
    }


def test_a_written_pipeline_is_fp16_only_and_loads_as_svd_does(tmp_path):
    counts = write_svd_pipeline(tmp_path / "svd", **TINY)
    folder = tmp_path / "svd"
    weights = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.safetensors"))
    assert weights == [
        "image_encoder/model.fp16.safetensors",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.fp16.safetensors",
    ]
    index = json.loads((tmp_path / "svd" / "model_index.json").read_text())
    assert index["feature_extractor"] == ["transformers", "CLIPImageProcessor"]
    base = load_base(tmp_path / "svd")
    assert base.conditioning == "image" and base.scheduler.config.timestep_type == "continuous"
    loaded = {"unet": base.unet, "vae": base.vae, "image_encoder": base.image_encoder}
    assert parameter_counts(loaded) == counts
    assert {p.dtype for part in loaded.values() for p in part.parameters()} == {torch.float32}


def test_the_writer_is_seeded(tmp_path):
    write_svd_pipeline(tmp_path / "a", seed=3, **TINY)
    write_svd_pipeline(tmp_path / "b", seed=3, **TINY)
    name = "unet/diffusion_pytorch_model.fp16.safetensors"
    assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_main_refuses_an_existing_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main([str(tmp_path)])
    assert exit.value.code == 2
    assert f"{str(tmp_path)!r} already exists." in capsys.readouterr().err
