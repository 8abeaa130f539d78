import pytest
import torch

from ros2_vid2world.world_model import Vid2WorldModel, causalize
from ros2_vid2world.world_model.action_embedding import actions_leading_to_frames
from ros2_vid2world.world_model.embedding_scale import EmbeddingScaledGroupNorm
from ros2_vid2world.world_model.frame_cache import FrameCache

from .conftest import random_inputs


@pytest.fixture(scope="module")
def scaled_pair(tiny_base):
    """The same causalized tiny model without and with embedding scales (theirs still zero)."""
    plain = causalize(tiny_base, action_dim=2).eval()
    scaled = causalize(tiny_base, action_dim=2, embedding_scale=True).eval()
    torch.manual_seed(1)
    for parameter in plain.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    scaled.action_embedding.load_state_dict(plain.action_embedding.state_dict())
    return plain, scaled


@pytest.fixture(scope="module")
def trained_scales(scaled_pair):
    """The scaled model with its scale layers moved off zero, as training would."""
    model = Vid2WorldModel.from_config(scaled_pair[1].config).eval()
    model.load_state_dict(scaled_pair[1].state_dict())
    torch.manual_seed(2)
    for layer in model.embedding_scales:
        torch.nn.init.normal_(layer.weight, std=0.3)
    return model


def run(model, sample, timesteps, actions):
    with torch.no_grad():
        return model(sample, timesteps, actions).sample


def test_every_resblock_norm_that_sees_the_embedding_is_scaled(scaled_pair):
    plain, scaled = scaled_pair
    resblocks = [m for m in plain.unet.modules() if getattr(m, "time_emb_proj", None) is not None]
    norms = [m for m in scaled.unet.modules() if isinstance(m, EmbeddingScaledGroupNorm)]
    assert len(norms) == len(resblocks) == len(scaled.embedding_scales) > 0
    assert not any(isinstance(m, EmbeddingScaledGroupNorm) for m in plain.unet.modules())


def test_zero_scales_compute_what_the_model_without_them_computes(scaled_pair):
    plain, scaled = scaled_pair
    sample, timesteps, actions = random_inputs(frames=5)
    torch.testing.assert_close(
        run(scaled, sample, timesteps, actions), run(plain, sample, timesteps, actions)
    )


def test_scales_make_the_action_multiply_features_and_keep_frames_causal(scaled_pair, trained_scales):
    sample, timesteps, actions = random_inputs(frames=5)
    out = run(trained_scales, sample, timesteps, actions)
    assert (out - run(scaled_pair[1], sample, timesteps, actions)).abs().max() > 1e-3
    changed_actions = actions.clone()
    changed_actions[:, 2] += 2.0  # taken after frame 2: conditions frame 3
    changed = run(trained_scales, sample, timesteps, changed_actions)
    torch.testing.assert_close(changed[:, :3], out[:, :3], atol=1e-5, rtol=0)
    assert (changed[:, 3] - out[:, 3]).abs().max() > 1e-3


def test_cached_frames_give_what_the_full_clip_gives_with_scales(trained_scales):
    sample, timesteps, actions = random_inputs(frames=5)
    full = run(trained_scales, sample, timesteps, actions)
    led_to, keep = actions_leading_to_frames(actions, torch.ones(2, 5, dtype=torch.bool))
    cache = FrameCache()
    with torch.no_grad():
        trained_scales.forward_cached(
            sample[:, :3], timesteps[:, :3], led_to[:, :3], keep[:, :3], cache, True
        )
        last = trained_scales.forward_cached(
            sample[:, 3:], timesteps[:, 3:], led_to[:, 3:], keep[:, 3:], cache
        )
    torch.testing.assert_close(last, full[:, 3:], atol=1e-5, rtol=1e-4)
    assert all(norm.frame_scale is None for norm in trained_scales._scaled_norms)  # nothing left behind


def test_saved_scales_load_back(trained_scales, tmp_path):
    trained_scales.save_pretrained(tmp_path, safe_serialization=True)
    loaded = Vid2WorldModel.from_pretrained(tmp_path).eval()
    assert loaded.config.embedding_scale is True
    sample, timesteps, actions = random_inputs(frames=4)
    torch.testing.assert_close(
        run(loaded, sample, timesteps, actions), run(trained_scales, sample, timesteps, actions)
    )


def test_embedding_scale_must_be_a_bool(scaled_pair):
    with pytest.raises(ValueError, match="`embedding_scale` must be true or false"):
        Vid2WorldModel.from_config({**scaled_pair[1].config, "embedding_scale": "yes"})


def test_scales_added_to_a_model_keep_what_it_computes(scaled_pair):
    plain = scaled_pair[0]
    added = plain.with_embedding_scale()
    assert added.config.embedding_scale is True and plain.config.embedding_scale is False
    assert added.with_embedding_scale() is added
    sample, timesteps, actions = random_inputs(frames=4)
    torch.testing.assert_close(
        run(added.eval(), sample, timesteps, actions), run(plain, sample, timesteps, actions)
    )
