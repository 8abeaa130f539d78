import json

import pytest
import torch
from safetensors.torch import save_file

from ros2_vid2world.world_model import Vid2WorldModel
from ros2_vid2world.world_model.folder import MANIFEST, WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler

from .conftest import random_inputs


@pytest.fixture
def saved(tiny_model, tmp_path):
    folder = WorldModelFolder(
        model=tiny_model, scheduler=make_scheduler(), action_stats={"mean": [0, 0], "std": [1, 1]}
    )
    return folder.save(tmp_path / "wm")


def test_save_load_round_trip_is_exact(tiny_model, saved):
    loaded = WorldModelFolder.load(saved)
    original, reloaded = tiny_model.state_dict(), loaded.model.state_dict()
    assert original.keys() == reloaded.keys()
    assert all(torch.equal(original[k], reloaded[k]) for k in original)
    sample, timesteps, actions = random_inputs()
    with torch.no_grad():
        # Bit-identical weights; the outputs agree to rounding (two module instances can get differently
        # aligned buffers, and on some CPUs oneDNN then sums in another order).
        torch.testing.assert_close(
            loaded.model(sample, timesteps, actions).sample, tiny_model(sample, timesteps, actions).sample,
            rtol=1e-4, atol=1e-5,
        )
    assert loaded.image_size == (16, 16) and loaded.action_stats == {"mean": [0, 0], "std": [1, 1]}
    assert loaded.scheduler.config.prediction_type == "epsilon"


def test_model_class_round_trip_uses_safetensors_only(tiny_model, tmp_path):
    tiny_model.save_pretrained(tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == [
        "config.json",
        "diffusion_pytorch_model.safetensors",
    ]
    reloaded = Vid2WorldModel.from_pretrained(tmp_path / "m", use_safetensors=True)
    assert reloaded.config.action_dim == 2 and reloaded.config.weight_transfer == "extrapolative"


def test_manifest_names_what_a_planner_needs(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    assert manifest["action_dim"] == 2 and manifest["image_size"] == [16, 16]
    assert manifest["latent_scale"] == 1.0 and manifest["autoencoder"] is None


def test_saving_over_a_folder_replaces_it_whole(tiny_model, saved):
    (saved / "stale.txt").write_text("old")
    WorldModelFolder(model=tiny_model, scheduler=make_scheduler()).save(saved)
    assert not (saved / "stale.txt").exists()
    assert [p.name for p in saved.parent.iterdir() if p.name.startswith(".")] == []


def test_missing_folder_and_manifest_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        WorldModelFolder.load(tmp_path / "nope")
    with pytest.raises(ValueError, match=f"not a world-model folder: no {MANIFEST}"):
        WorldModelFolder.load(tmp_path)


def test_pickle_weights_are_refused(saved):
    weights = saved / "world_model" / "diffusion_pytorch_model.safetensors"
    weights.unlink()
    (saved / "world_model" / "diffusion_pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(ValueError, match=r"pickle weights only \(diffusion_pytorch_model.bin\); refusing"):
        WorldModelFolder.load(saved)


def test_manifest_inconsistent_with_weights_is_named(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    manifest["action_dim"] = 7
    (saved / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="action_dim is 7 but the weights say 2"):
        WorldModelFolder.load(saved)


def test_weights_of_wrong_shape_are_refused(saved):
    save_file(
        {"unet.conv_in.weight": torch.zeros(1)}, saved / "world_model" / "diffusion_pytorch_model.safetensors"
    )
    with pytest.raises((ValueError, RuntimeError)):
        WorldModelFolder.load(saved)


def test_patch_size_round_trips_and_sets_the_image_size(tiny_model, tmp_path):
    # The tiny model sees 16x16 samples: as 2x2 patches of 3 channels it would need 12 channels, but
    # the folder only records the codec; the image size is the model's size times the patch side.
    WorldModelFolder(model=tiny_model, scheduler=make_scheduler(), patch_size=2).save(tmp_path / "wm")
    loaded = WorldModelFolder.load(tmp_path / "wm")
    assert loaded.codec.patch_size == 2 and loaded.image_size == (32, 32)
    assert json.loads((tmp_path / "wm" / MANIFEST).read_text())["patch_size"] == 2


def test_a_folder_without_patch_size_is_pixel_space(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    del manifest["patch_size"]
    (saved / MANIFEST).write_text(json.dumps(manifest))
    assert WorldModelFolder.load(saved).codec.patch_size == 1


def test_a_bad_patch_size_in_the_manifest_is_named(saved):
    manifest = json.loads((saved / MANIFEST).read_text())
    (saved / MANIFEST).write_text(json.dumps({**manifest, "patch_size": "4"}))
    with pytest.raises(ValueError, match="patch_size must be an integer >= 1. Got '4'"):
        WorldModelFolder.load(saved)
