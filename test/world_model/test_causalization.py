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


def test_copy_weights_false_takes_the_base_tensors_and_computes_the_same(tiny_base):
    """The memory-saving path (a base loaded only to be causalized) shares spatial weights with the base
    instead of copying them, and gives the model the default path gives."""
    copied = causalize(tiny_base, action_dim=2, weight_transfer="masked").eval()
    shared = causalize(tiny_base, action_dim=2, weight_transfer="masked", copy_weights=False).eval()
    base_weight = tiny_base.conv_in.weight
    causal = next(m for m in shared.unet.modules() if isinstance(m, CausalTemporalConv))
    assert shared.unet.conv_in.weight.data_ptr() == base_weight.data_ptr()
    assert copied.unet.conv_in.weight.data_ptr() != base_weight.data_ptr()
    assert all(causal.weight.data_ptr() != p.data_ptr() for p in tiny_base.parameters())
    shared.action_embedding.load_state_dict(copied.action_embedding.state_dict())
    sample, timesteps = torch.randn(1, 3, 3, 16, 16), torch.tensor([[10, 500, 900]])
    actions = torch.randn(1, 3, 2)
    with torch.no_grad():
        ours, theirs = (m(sample, timesteps, actions).sample for m in (shared, copied))
    assert torch.equal(ours, theirs)


def test_no_tensor_is_left_on_the_meta_device(tiny_base):
    model = causalize(tiny_base, action_dim=2)
    devices = {t.device.type for t in [*model.parameters(), *model.buffers()]}
    assert devices == {"cpu"}
    assert not model.action_embedding.mlp[-1].weight.any() and not model.context_embedding.any()
    assert model.action_embedding.mlp[0].weight.std() > 0  # the first layers keep a random start


def test_the_default_copy_leaves_the_base_untouched_by_training(tiny_base):
    before = tiny_base.conv_in.weight.clone()
    model = causalize(tiny_base, action_dim=2)
    with torch.no_grad():
        model.unet.conv_in.weight.add_(1.0)
    assert torch.equal(tiny_base.conv_in.weight, before)
