import pytest
import torch
import torch.nn.functional as F
from diffusers import UNetSpatioTemporalConditionModel

from ros2_vid2world.world_model import StateProbe, causalize
from ros2_vid2world.world_model.finer_patches import coarse_channel_of, finer_patches
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import BASE_PRESETS


@pytest.fixture(scope="module")
def patch2_folder():
    """An image-to-video model on 32x32 images in 2x2-pixel patches (12 channels, 24 with the first
    frame's), with random weights everywhere and a state probe."""
    torch.manual_seed(0)
    base = UNetSpatioTemporalConditionModel(**{**BASE_PRESETS["tiny"], "in_channels": 24, "out_channels": 12})
    model = causalize(base, action_dim=2, embedding_scale=True).eval()
    for parameter in model.parameters():  # the zero-initialised action and scale layers too
        torch.nn.init.normal_(parameter, std=0.05)
    probe = StateProbe(joint_names=["x", "y"], periodic=[False, False], image_size=[32, 32], units=["m", "m"])
    return WorldModelFolder(
        model=model, scheduler=make_scheduler(), action_stats={"mean": [0.1, 0.0], "std": [2.0, 1.0]},
        patch_size=2, state_probe=probe.eval(), control_period=0.2,
    )


def test_each_finer_channel_comes_from_the_coarse_pixel_covering_it():
    # 1-pixel "patches" to 2x2: each colour's four channels come from that colour.
    assert coarse_channel_of(1, 2).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    # 2x2 to 4x4 patches, red: rows 0-1 / columns 0-1 of the fine patch are the coarse patch's pixel 0.
    red = coarse_channel_of(2, 2)[:16].reshape(4, 4).tolist()
    assert red == [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]


def test_the_finer_model_computes_the_coarse_one_on_the_averaged_image(patch2_folder):
    finer = finer_patches(patch2_folder, 2)
    assert finer.patch_size == 4 and finer.image_size == (64, 64)
    assert finer.model.unet.config.in_channels == 96 and finer.model.unet.config.out_channels == 48
    generator = torch.Generator().manual_seed(3)
    frames = torch.rand(2, 4, 3, 64, 64, generator=generator) * 2 - 1
    timesteps = torch.tensor([[0, 999, 999, 999], [0, 0, 400, 999]])
    actions = torch.randn(2, 4, 2, generator=generator)
    coarse_frames = F.avg_pool2d(frames.flatten(0, 1), 2).unflatten(0, (2, 4))
    with torch.no_grad():
        fine = finer.model(finer.codec.encode(frames), timesteps, actions).sample
        coarse = patch2_folder.model(patch2_folder.codec.encode(coarse_frames), timesteps, actions).sample
    fine_pixels = F.pixel_shuffle(fine, 4).flatten(0, 1)
    repeated = F.interpolate(F.pixel_shuffle(coarse, 2).flatten(0, 1), scale_factor=2, mode="nearest")
    torch.testing.assert_close(fine_pixels, repeated, rtol=1e-4, atol=1e-5)
    # Not trivially: another image gives another output.
    with torch.no_grad():
        other = finer.model(finer.codec.encode(frames.flip(-1)), timesteps, actions).sample
    assert (other - fine).abs().max() > 1e-2


def test_the_folder_keeps_its_settings_and_its_probe_reads_what_it_read(patch2_folder, tmp_path):
    finer = finer_patches(patch2_folder, 2)
    assert finer.action_stats == patch2_folder.action_stats and finer.control_period == 0.2
    saved = WorldModelFolder.load(finer.save(tmp_path / "wm"))
    assert saved.image_size == (64, 64) and saved.state_probe.config.input_pooling == 2
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = patch2_folder.state_probe(F.avg_pool2d(images, 2))
        torch.testing.assert_close(saved.state_probe(images), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("factor", [1, 0, 2.0, True])
def test_factor_must_be_an_integer_of_at_least_two(patch2_folder, factor):
    with pytest.raises(ValueError, match="`factor` must be an integer >= 2"):
        finer_patches(patch2_folder, factor)


def test_a_probe_pooling_that_does_not_divide_its_images_is_refused():
    with pytest.raises(ValueError, match="`input_pooling` must be an integer >= 1 dividing"):
        StateProbe(joint_names=["x"], periodic=[False], image_size=[30, 30], input_pooling=4)
