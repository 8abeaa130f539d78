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


def resblock_norm_outputs(model, actions) -> dict[str, torch.Tensor]:
    """The output of every ResBlock's second norm (which follows the time-embedding bias) for `actions`."""
    outputs, hooks = {}, []
    for name, module in model.named_modules():
        if name.endswith("norm2") and "res_block" in name:
            hooks.append(module.register_forward_hook(lambda m, a, out, n=name: outputs.__setitem__(n, out)))
    sample = torch.randn(1, 2, model.sample_channels, 16, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(sample, torch.tensor([[20, 999]]), actions)
    for hook in hooks:
        hook.remove()
    return outputs


@pytest.mark.parametrize("name, sees_action", [("patch2_i2v", True), ("patch2", False)])
def test_the_first_level_sees_the_action_only_at_64_channels(name, sees_action):
    # A 32-group GroupNorm follows the time embedding's per-channel bias: with one channel per group
    # it subtracts that bias exactly, so a 32-channel ResBlock never sees the action (or noise level).
    # The first level's input comes straight from the frames, so what it sees comes through the bias.
    model = causalize(base_unet_from_preset(name), action_dim=2).eval()
    torch.manual_seed(0)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    one = resblock_norm_outputs(model, torch.tensor([[[1.0, -1.0], [0.0, 0.0]]]))
    other = resblock_norm_outputs(model, torch.tensor([[[-1.0, 1.0], [0.0, 0.0]]]))
    first = [n for n in one if n.startswith("unet.down_blocks.0.resnets.0.")]
    assert len(first) == 2  # its spatial and temporal ResBlock
    for n in first:
        change = float((one[n] - other[n]).norm() / one[n].norm())
        assert (change > 1e-2) if sees_action else (change < 1e-5), (n, change)
    later = [n for n in one if n.startswith("unet.mid_block.")]
    assert all(float((one[n] - other[n]).norm() / one[n].norm()) > 1e-2 for n in later)
