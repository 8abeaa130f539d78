import pytest
import torch

from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.latent_codec import LatentCodec
from ros2_vid2world.world_model.presets import BASE_PRESETS, PATCH_SIZES, base_unet_from_preset


def test_every_preset_has_a_patch_size():
    assert set(PATCH_SIZES) == set(BASE_PRESETS)


@pytest.mark.parametrize("name", sorted(BASE_PRESETS))
def test_preset_round_trips_an_image_through_its_codec_and_model(name):
    # A preset's channels must be what its pixel codec makes of an RGB image, and the causalized
    # model must accept the result and give back a prediction of the same shape.
    base = base_unet_from_preset(name)
    patch = PATCH_SIZES[name]
    assert base.config.out_channels == 3 * patch**2
    assert base.config.in_channels in (3 * patch**2, 6 * patch**2)  # video, or image-to-video
    codec = LatentCodec(patch_size=patch)
    side = base.config.sample_size * patch
    frames = torch.rand(1, 2, 3, side, side) * 2 - 1
    sample = codec.encode(frames)
    assert torch.equal(codec.decode(sample), frames)
    model = causalize(base, action_dim=2, prediction_type="v_prediction").eval()
    with torch.no_grad():
        out = model(sample, torch.tensor([[10, 500]]), torch.zeros(1, 2, 2)).sample
    assert out.shape == sample.shape and torch.isfinite(out).all()


def test_unknown_preset_is_named_in_the_error():
    with pytest.raises(ValueError, match="`preset` must be one of .*Got 'huge'"):
        base_unet_from_preset("huge")
