"""Loading the bases labs have: U-Net folders and diffusers pipeline folders (Stable Video Diffusion's
shape, written here with diffusers' and transformers' own classes, in float32 and as an fp16 variant)."""

import json
import shutil

import pytest
import torch

from ros2_vid2world.world_model.base_pipeline import load_base
from test.svd_pipeline import write_tiny_svd_pipeline


def test_loads_unet_folder(tiny_base, tmp_path):
    tiny_base.save_pretrained(tmp_path / "unet")
    base = load_base(tmp_path / "unet")
    assert base.vae is None and base.conditioning == "learned" and base.scheduler is None
    assert all(
        torch.equal(a, b)
        for a, b in zip(base.unet.state_dict().values(), tiny_base.state_dict().values(), strict=True)
    )


def test_loads_pipeline_folder_with_unet_subfolder(tiny_base, tmp_path):
    tiny_base.save_pretrained(tmp_path / "pipe" / "unet")
    (tmp_path / "pipe" / "model_index.json").write_text(
        json.dumps({"_class_name": "StableVideoDiffusionPipeline"})
    )
    base = load_base(tmp_path / "pipe")
    assert type(base.unet).__name__ == "UNetSpatioTemporalConditionModel" and base.vae is None


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="--base '.*nope' does not exist"):
        load_base(tmp_path / "nope")


def test_folder_without_config_is_named(tmp_path):
    with pytest.raises(ValueError, match="has no config.json"):
        load_base(tmp_path)


def test_unsupported_unet_class_is_named(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"_class_name": "UNet2DConditionModel"}))
    with pytest.raises(
        ValueError,
        match=r"expected a U-Net of class \['UNetSpatioTemporalConditionModel'\]. "
        r"Got 'UNet2DConditionModel'",
    ):
        load_base(tmp_path)


def test_pickle_only_base_is_refused(tiny_base, tmp_path):
    tiny_base.save_pretrained(tmp_path / "unet")
    (tmp_path / "unet" / "diffusion_pytorch_model.safetensors").rename(
        tmp_path / "unet" / "diffusion_pytorch_model.bin"
    )
    with pytest.raises(ValueError, match="pickle weights only"):
        load_base(tmp_path / "unet")


@pytest.fixture(scope="module")
def svd_pipelines(tmp_path_factory):
    root = tmp_path_factory.mktemp("svd")
    return write_tiny_svd_pipeline(root / "fp32"), write_tiny_svd_pipeline(root / "fp16", fp16_variant=True)


def test_svd_pipeline_loads_every_part_and_fp16_variants_upcast(svd_pipelines):
    full, half = (load_base(path) for path in svd_pipelines)
    for base in (full, half):
        assert base.conditioning == "image"
        assert type(base.vae).__name__ == "AutoencoderKLTemporalDecoder"
        assert type(base.image_encoder).__name__ == "CLIPVisionModelWithProjection"
        assert type(base.scheduler).__name__ == "EulerDiscreteScheduler"
        assert base.scheduler.config.timestep_type == "continuous"
        assert {p.dtype for p in base.unet.parameters()} == {torch.float32}
        assert {p.dtype for p in base.image_encoder.parameters()} == {torch.float32}
        assert base.image_mean == pytest.approx([0.48145466, 0.4578275, 0.40821073])
    # The fp16 files hold the same weights rounded to half precision.
    for a, b in zip(full.unet.state_dict().values(), half.unet.state_dict().values(), strict=True):
        torch.testing.assert_close(a.half().float(), b)


def copy_of(pipeline, tmp_path):
    return shutil.copytree(pipeline, tmp_path / "pipeline")


def test_pipeline_without_unet_is_named(svd_pipelines, tmp_path):
    path = copy_of(svd_pipelines[0], tmp_path)
    shutil.rmtree(path / "unet")
    with pytest.raises(ValueError, match=r"model_index.json lists unet/ but the folder has none"):
        load_base(path)


def test_pipeline_without_vae_is_named(svd_pipelines, tmp_path):
    path = copy_of(svd_pipelines[0], tmp_path)
    shutil.rmtree(path / "vae")
    with pytest.raises(ValueError, match=r"model_index.json lists vae/ but the folder has none"):
        load_base(path)


@pytest.mark.parametrize("part", ["unet", "vae", "image_encoder"])
def test_pickle_only_parts_are_refused(svd_pipelines, tmp_path, part):
    path = copy_of(svd_pipelines[1], tmp_path)
    for weights in (path / part).glob("*.safetensors"):
        weights.rename(weights.with_suffix(".bin"))
    with pytest.raises(ValueError, match=rf"{part}' holds pickle weights only"):
        load_base(path)


def test_vae_latents_must_match_the_unet(tmp_path):
    path = write_tiny_svd_pipeline(tmp_path / "pipeline", vae_latents=8)
    with pytest.raises(ValueError, match=r"vae/ makes 8-channel latents; the U-Net denoises 4-channel ones"):
        load_base(path)


def test_image_encoder_projection_must_match_cross_attention(tmp_path):
    path = write_tiny_svd_pipeline(tmp_path / "pipeline", projection_dim=16)
    match = r"image_encoder/ projects to 16 values; the U-Net's cross-attention takes 32"
    with pytest.raises(ValueError, match=match):
        load_base(path)
