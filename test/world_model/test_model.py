import pytest
import torch

from ros2_vid2world.world_model import Vid2WorldModel

from .conftest import random_inputs


def run(model, sample, timesteps, actions, action_mask=None):
    with torch.no_grad():
        return model(sample, timesteps, actions, action_mask=action_mask).sample


def test_output_has_the_shape_of_sample(tiny_model):
    sample, timesteps, actions = random_inputs()
    out = tiny_model(sample, timesteps, actions)
    assert out.sample.shape == sample.shape
    assert tiny_model(sample, timesteps, actions, return_dict=False)[0].shape == sample.shape


@pytest.mark.parametrize("t", [0, 1, 3])
def test_later_frames_levels_and_actions_do_not_reach_frame_t(tiny_model, t):
    sample, timesteps, actions = random_inputs(frames=5)
    generator = torch.Generator().manual_seed(7)
    later_sample, later_timesteps, later_actions = sample.clone(), timesteps.clone(), actions.clone()
    later_sample[:, t + 1 :] = torch.randn(later_sample[:, t + 1 :].shape, generator=generator)
    later_timesteps[:, t + 1 :] = torch.randint(
        0, 1000, later_timesteps[:, t + 1 :].shape, generator=generator
    )
    later_actions[:, t:] = torch.randn(later_actions[:, t:].shape, generator=generator)  # index >= t
    out = run(tiny_model, sample, timesteps, actions)
    changed = run(tiny_model, later_sample, later_timesteps, later_actions)
    torch.testing.assert_close(changed[:, : t + 1], out[:, : t + 1], atol=1e-5, rtol=0)
    assert (changed[:, t + 1 :] - out[:, t + 1 :]).abs().max() > 1e-3


def test_action_after_frame_t_minus_1_changes_frame_t_only_onward(tiny_model):
    sample, timesteps, actions = random_inputs(frames=5)
    changed_actions = actions.clone()
    changed_actions[:, 2] += 2.0  # taken after frame 2: conditions frame 3
    out = run(tiny_model, sample, timesteps, actions)
    changed = run(tiny_model, sample, timesteps, changed_actions)
    torch.testing.assert_close(changed[:, :3], out[:, :3], atol=1e-5, rtol=0)
    assert (changed[:, 3] - out[:, 3]).abs().max() > 1e-3


def test_masked_action_has_no_effect(tiny_model):
    sample, timesteps, actions = random_inputs(frames=5)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[:, 1] = False
    changed_actions = actions.clone()
    changed_actions[:, 1] = torch.randn(2, 2) * 5
    out = run(tiny_model, sample, timesteps, actions, mask)
    changed = run(tiny_model, sample, timesteps, changed_actions, mask)
    torch.testing.assert_close(changed, out, atol=1e-6, rtol=0)
    kept = run(tiny_model, sample, timesteps, actions)
    assert (kept[:, 2] - out[:, 2]).abs().max() > 1e-3  # dropping it did matter


def test_frames_in_a_batch_are_independent(tiny_model):
    sample, timesteps, actions = random_inputs(batch=3, frames=4)
    out = run(tiny_model, sample, timesteps, actions)
    single = run(tiny_model, sample[1:2], timesteps[1:2], actions[1:2])
    torch.testing.assert_close(single, out[1:2], atol=1e-5, rtol=1e-5)


def test_odd_image_size_is_handled(tiny_model):
    sample = torch.randn(1, 3, 3, 14, 10)
    out = run(tiny_model, sample, torch.zeros(1, 3, dtype=torch.long), torch.zeros(1, 3, 2))
    assert out.shape == sample.shape


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(sample=torch.randn(2, 5, 3, 16)), r"`sample` must be \[B, F, 3, H, W\]"),
        (
            dict(sample=torch.randn(2, 5, 4, 16, 16)),
            r"`sample` must be \[B, F, 3, H, W\]. Got \(2, 5, 4, 16, 16\)",
        ),
        (dict(timesteps=torch.zeros(2, 4, dtype=torch.long)), r"`timesteps` must be \[B, F\] = \[2, 5\]"),
        (dict(actions=torch.zeros(2, 5, 3)), r"`actions` must be \[B, F, A\] = \[2, 5, 2\]. Got \(2, 5, 3\)"),
        (dict(action_mask=torch.ones(2, 5)), r"`action_mask` must be a bool tensor"),
    ],
)
def test_wrong_shapes_are_named(tiny_model, bad, match):
    sample, timesteps, actions = random_inputs()
    kwargs = dict(sample=sample, timesteps=timesteps, actions=actions, action_mask=None) | bad
    with pytest.raises(ValueError, match=match):
        tiny_model(**kwargs)


def test_invalid_config_is_refused(tiny_model):
    config = dict(tiny_model.config.unet_config)
    with pytest.raises(ValueError, match="`action_dim` must be a positive integer. Got 0"):
        Vid2WorldModel(unet_config=config, action_dim=0)
    with pytest.raises(ValueError, match="`prediction_type` must be one of"):
        Vid2WorldModel(unet_config=config, action_dim=2, prediction_type="sample")
    with pytest.raises(ValueError, match="`added_time_ids` must have 3 values"):
        Vid2WorldModel(unet_config=config, action_dim=2, added_time_ids=(1.0,))
