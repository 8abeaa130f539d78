import pytest
import torch

from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.sampler import AutoregressiveSampler, SamplerConfig


@pytest.fixture(scope="module")
def scheduler():
    return make_scheduler()


def inputs(batch=2, past=2, future=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, past, 3, 16, 16, generator=g),
        torch.randn(batch, past - 1, 2, generator=g),
        torch.randn(batch, future, 2, generator=g),
    )


def test_rollout_shape_and_reproducibility(tiny_model, scheduler):
    sampler = AutoregressiveSampler(tiny_model, scheduler, SamplerConfig(num_inference_steps=3))
    history, past_actions, actions = inputs()
    a = sampler.rollout(history, past_actions, actions, generator=torch.Generator().manual_seed(3))
    b = sampler.rollout(history, past_actions, actions, generator=torch.Generator().manual_seed(3))
    assert a.shape == (2, 3, 3, 16, 16)
    assert torch.equal(a, b)


def test_rollouts_in_a_batch_are_independent(tiny_model, scheduler):
    sampler = AutoregressiveSampler(tiny_model, scheduler, SamplerConfig(num_inference_steps=2))
    history, past_actions, actions = inputs(batch=2)
    changed = actions.clone()
    changed[1] = torch.randn(3, 2) * 3
    g = torch.Generator().manual_seed(1)
    a = sampler.rollout(history, past_actions, actions, generator=g)
    b = sampler.rollout(history, past_actions, changed, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=0)
    assert (a[1] - b[1]).abs().max() > 1e-3


def test_first_frame_depends_only_on_first_action(tiny_model, scheduler):
    sampler = AutoregressiveSampler(tiny_model, scheduler, SamplerConfig(num_inference_steps=2))
    history, past_actions, actions = inputs(batch=1)
    changed = actions.clone()
    changed[:, 1:] += 5
    a = sampler.rollout(history, past_actions, actions, generator=torch.Generator().manual_seed(0))
    b = sampler.rollout(history, past_actions, changed, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a[:, 0], b[:, 0], atol=1e-5, rtol=0)
    assert (a[:, 1] - b[:, 1]).abs().max() > 1e-3


def test_rollout_longer_than_the_window_slides(tiny_model, scheduler):
    sampler = AutoregressiveSampler(
        tiny_model, scheduler, SamplerConfig(num_inference_steps=1, guidance_scale=1.0)
    )
    history, past_actions, actions = inputs(batch=1, past=3, future=tiny_model.config.max_frames)
    out = sampler.rollout(history, past_actions, actions)
    assert out.shape[1] == tiny_model.config.max_frames and torch.isfinite(out).all()


def test_bad_inputs_are_named(tiny_model, scheduler):
    sampler = AutoregressiveSampler(tiny_model, scheduler, SamplerConfig(num_inference_steps=1))
    history, past_actions, actions = inputs()
    with pytest.raises(ValueError, match=r"`history_actions` must be \[B, P-1, A\] = \[2, 1, 2\]"):
        sampler.rollout(history, actions, actions)
    with pytest.raises(ValueError, match=r"`actions` must be \[B, N, A\] = \[2, N, 2\]"):
        sampler.rollout(history, past_actions, actions[..., :1])
    with pytest.raises(ValueError, match=r"`history` must be \[B, P >= 1, 3, H, W\]"):
        sampler.rollout(history[:, :0], past_actions, actions)


def test_mismatched_scheduler_and_settings_are_refused(tiny_model):
    with pytest.raises(
        ValueError, match="prediction_type 'v_prediction' does not match the model's 'epsilon'"
    ):
        AutoregressiveSampler(tiny_model, make_scheduler("v_prediction"))
    with pytest.raises(ValueError, match="`guidance_rescale` must be in"):
        SamplerConfig(guidance_rescale=2.0)
    with pytest.raises(ValueError, match="`num_inference_steps` must be an integer >= 1"):
        SamplerConfig(num_inference_steps=0)
