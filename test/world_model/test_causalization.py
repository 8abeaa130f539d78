import pytest
import torch
from diffusers import UNet2DConditionModel

from ros2_vid2world.world_model import CausalTemporalConv, causal_kernel, causalize


@pytest.mark.parametrize("scheme", ["extrapolative", "masked", "shift"])
def test_spatial_weights_are_kept_and_temporal_kernels_transferred(tiny_base, scheme):
    model = causalize(tiny_base, action_dim=3, weight_transfer=scheme)
    base_state, state = tiny_base.state_dict(), model.unet.state_dict()
    assert base_state.keys() == state.keys()
    causal_weights = {
        f"{n}.weight" for n, m in model.unet.named_modules() if isinstance(m, CausalTemporalConv)
    }
    assert len(causal_weights) == 16  # two per temporal ResBlock in the tiny preset
    for key, value in base_state.items():
        if key in causal_weights:
            assert torch.equal(state[key], causal_kernel(value, scheme))
        else:
            assert torch.equal(state[key], value), key
    assert model.config.weight_transfer == scheme


def test_fresh_model_ignores_actions(tiny_base):
    """The zero-initialised action embedding leaves the causalized base's function unchanged."""
    model = causalize(tiny_base, action_dim=2).eval()
    sample = torch.randn(1, 3, 3, 16, 16)
    timesteps = torch.tensor([[10, 500, 900]])
    with torch.no_grad():
        a = model(sample, timesteps, torch.zeros(1, 3, 2)).sample
        b = model(sample, timesteps, torch.randn(1, 3, 2)).sample
    assert torch.equal(a, b)


def test_single_frame_matches_base_unet(tiny_base):
    """One frame: the world model is the base U-Net with the conditioning it supplies.

    With `masked` transfer a lone frame sees the same taps as in the base (the clip edge is zero
    padding either way); `extrapolative` moves the future tap onto the present and differs there.
    """
    model = causalize(tiny_base, action_dim=2, weight_transfer="masked").eval()
    sample, timestep = torch.randn(1, 1, 3, 16, 16), torch.tensor([[250]])
    ids = torch.tensor([model.config.added_time_ids])
    with torch.no_grad():
        ours = model(sample, timestep, torch.zeros(1, 1, 2)).sample
        base = tiny_base(sample, timestep[0], torch.zeros(1, 1, 32), ids).sample
    torch.testing.assert_close(ours, base, atol=1e-5, rtol=1e-5)


def test_unsupported_base_is_refused():
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        cross_attention_dim=32,
        layers_per_block=1,
        down_block_types=("DownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "UpBlock2D"),
        sample_size=8,
    )
    with pytest.raises(
        ValueError,
        match=r"`unet` must be one of \['UNetSpatioTemporalConditionModel'\]. "
        r"Got UNet2DConditionModel",
    ):
        causalize(unet, action_dim=2)


def test_unknown_weight_transfer_is_refused(tiny_base):
    with pytest.raises(ValueError, match="`weight_transfer` must be one of"):
        causalize(tiny_base, action_dim=2, weight_transfer="mixed")
