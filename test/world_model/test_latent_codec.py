import pytest
import torch
from diffusers import AutoencoderKL

from ros2_vid2world.world_model.latent_codec import LatentCodec, images_to_unit_range, unit_range_to_images


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return AutoencoderKL(
        block_out_channels=(32, 64),
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        norm_num_groups=32,
        scaling_factor=0.5,
    ).eval()


def test_identity_codec_is_pixel_space():
    frames = torch.rand(2, 3, 3, 8, 8) * 2 - 1
    codec = LatentCodec()
    assert torch.equal(codec.encode(frames), frames) and codec.spatial_factor == 1


def test_autoencoder_codec_scales_latents_and_decodes_per_frame(vae):
    codec = LatentCodec(vae)
    frames = torch.rand(2, 3, 3, 16, 16) * 2 - 1
    latents = codec.encode(frames)
    assert latents.shape == (2, 3, 4, 8, 8) and codec.spatial_factor == 2
    expected = vae.encode(frames[1, 2:3]).latent_dist.mode() * 0.5
    torch.testing.assert_close(latents[1, 2:3], expected, atol=1e-5, rtol=1e-5)
    decoded = codec.decode(latents)
    assert decoded.shape == frames.shape and decoded.abs().max() <= 1


def test_unsupported_autoencoder_is_refused():
    with pytest.raises(ValueError, match="`vae` must be None or one of"):
        LatentCodec(torch.nn.Linear(2, 2))


def test_image_range_round_trip():
    images = torch.randint(0, 256, (2, 4, 5, 3), dtype=torch.uint8)
    frames = images_to_unit_range(images)
    assert frames.shape == (2, 3, 4, 5) and frames.min() >= -1 and frames.max() <= 1
    assert torch.equal(unit_range_to_images(frames), images)


def test_patch_codec_folds_pixel_patches_into_channels_losslessly():
    frames = torch.rand(2, 3, 3, 8, 8) * 2 - 1
    codec = LatentCodec(patch_size=4)
    patches = codec.encode(frames)
    assert patches.shape == (2, 3, 48, 2, 2) and codec.spatial_factor == 4
    # Channel c * 16 + 4 i + j of patch (y, x) is pixel (4 y + i, 4 x + j) of channel c.
    assert patches[1, 2, 1 * 16 + 4 * 3 + 2, 1, 0] == frames[1, 2, 1, 4 + 3, 0 + 2]
    assert torch.equal(codec.decode(patches), frames)


@pytest.mark.parametrize("patch_size", [0, 2.0, True])
def test_bad_patch_sizes_are_refused(patch_size):
    with pytest.raises(ValueError, match="`patch_size` must be an integer >= 1"):
        LatentCodec(patch_size=patch_size)


def test_patches_and_an_autoencoder_do_not_mix(vae):
    with pytest.raises(ValueError, match="`patch_size` must be 1 with an autoencoder"):
        LatentCodec(vae, patch_size=2)
