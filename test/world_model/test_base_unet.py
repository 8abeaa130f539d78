import json

import pytest
import torch

from ros2_vid2world.world_model.base_unet import load_base


def test_loads_unet_folder(tiny_base, tmp_path):
    tiny_base.save_pretrained(tmp_path / "unet")
    unet, vae = load_base(tmp_path / "unet")
    assert vae is None
    assert all(
        torch.equal(a, b)
        for a, b in zip(unet.state_dict().values(), tiny_base.state_dict().values(), strict=True)
    )


def test_loads_pipeline_folder_with_unet_subfolder(tiny_base, tmp_path):
    tiny_base.save_pretrained(tmp_path / "pipe" / "unet")
    (tmp_path / "pipe" / "model_index.json").write_text(
        json.dumps({"_class_name": "StableVideoDiffusionPipeline"})
    )
    unet, vae = load_base(tmp_path / "pipe")
    assert type(unet).__name__ == "UNetSpatioTemporalConditionModel" and vae is None


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
