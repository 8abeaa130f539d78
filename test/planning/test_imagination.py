import pytest
import torch

from ros2_vid2world.planning.imagination import ImaginationEngine
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from ros2_vid2world.world_model.sampler import AutoregressiveSampler, SamplerConfig


@pytest.fixture(scope="module")
def model():
    """Tiny v-prediction model (its samples stay bounded even untrained) with a non-zero action
    embedding, so that candidates differ."""
    model = causalize(base_unet_from_preset("tiny"), action_dim=2, prediction_type="v_prediction").eval()
    torch.manual_seed(3)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    return model


def problem(past=4, count=3, horizon=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(1, past, 3, 16, 16, generator=g),
        torch.randn(1, past - 1, 2, generator=g),
        torch.randn(count, horizon, 2, generator=g),
    )


@pytest.mark.parametrize("rollout", ["autoregressive", "joint"])
@pytest.mark.parametrize("guidance_scale, past", [(1.0, 4), (2.5, 4), (2.5, 1)])
def test_engine_matches_full_window_sampler(model, guidance_scale, past, rollout):
    config = SamplerConfig(
        num_inference_steps=3, guidance_scale=guidance_scale, guidance_rescale=0.3, rollout=rollout
    )
    scheduler = make_scheduler("v_prediction", rescale_betas_zero_snr=True)
    history, history_actions, candidates = problem(past=past)
    naive = AutoregressiveSampler(model, scheduler, config).rollout(
        history, history_actions, candidates, generator=torch.Generator().manual_seed(11)
    )
    engine = ImaginationEngine(model, scheduler, config)
    generator = torch.Generator().manual_seed(11)
    engine.set_history(history, history_actions, generator)
    cached = engine.imagine(candidates, generator)
    assert cached.shape == naive.shape == (3, 4, 3, 16, 16)
    assert naive.abs().max() > 0.5
    assert (cached - naive).abs().max() < 1e-3
    assert (naive[0] - naive[1]).abs().max() > 1e-2  # the candidates really differ


def test_history_is_reused_across_imagine_calls(model):
    engine = ImaginationEngine(
        model,
        make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        SamplerConfig(num_inference_steps=2),
    )
    history, history_actions, candidates = problem()
    engine.set_history(history, history_actions, torch.Generator().manual_seed(0))
    first = engine.imagine(candidates, torch.Generator().manual_seed(5))
    engine.imagine(candidates * 3, torch.Generator().manual_seed(6))  # must not disturb the shared history
    again = engine.imagine(candidates, torch.Generator().manual_seed(5))
    assert torch.equal(first, again)
    assert engine.history_frames == 4


def test_candidate_frames_do_not_leak_between_candidates(model):
    engine = ImaginationEngine(
        model,
        make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        SamplerConfig(num_inference_steps=2),
    )
    history, history_actions, candidates = problem(count=2)
    engine.set_history(history, history_actions, torch.Generator().manual_seed(0))
    changed = candidates.clone()
    changed[1] += 4
    a = engine.imagine(candidates, torch.Generator().manual_seed(1))
    b = engine.imagine(changed, torch.Generator().manual_seed(1))
    torch.testing.assert_close(a[0], b[0], atol=1e-5, rtol=0)
    assert (a[1] - b[1]).abs().max() > 1e-3


def test_bad_inputs_are_named(model):
    engine = ImaginationEngine(
        model,
        make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        SamplerConfig(num_inference_steps=1),
    )
    history, history_actions, candidates = problem()
    with pytest.raises(RuntimeError, match="set_history"):
        engine.imagine(candidates)
    with pytest.raises(ValueError, match=r"`history` must be \[1, P >= 1, 3, H, W\]"):
        engine.set_history(history.repeat(2, 1, 1, 1, 1), history_actions)
    with pytest.raises(ValueError, match=r"`history_actions` must be \[1, P-1, A\] = \[1, 3, 2\]"):
        engine.set_history(history, history_actions[:, :1])
    engine.set_history(history, history_actions)
    with pytest.raises(ValueError, match=r"`candidates` must be \[N, H >= 1, 2\]"):
        engine.imagine(candidates[..., :1])
    with pytest.raises(ValueError, match="exceeds the model's window of 8 frames"):
        engine.imagine(torch.zeros(2, 5, 2))


def test_joint_rollout_is_causal_in_the_candidate_actions(model):
    engine = ImaginationEngine(
        model,
        make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        SamplerConfig(num_inference_steps=2, guidance_scale=2.5, rollout="joint"),
    )
    history, history_actions, candidates = problem()
    changed = candidates.clone()
    changed[:, 2:] += 1.0  # actions leading to new frames 2 and 3
    results = []
    for actions in (candidates, changed):
        engine.set_history(history, history_actions, torch.Generator().manual_seed(0))
        results.append(engine.imagine(actions, torch.Generator().manual_seed(5)))
    torch.testing.assert_close(results[1][:, :2], results[0][:, :2], rtol=1e-5, atol=1e-5)
    assert (results[1][:, 2:] - results[0][:, 2:]).abs().max() > 1e-2


def test_joint_rollout_needs_the_whole_horizon_in_the_window(model):
    sampler = AutoregressiveSampler(
        model, make_scheduler("v_prediction", rescale_betas_zero_snr=True),
        SamplerConfig(num_inference_steps=1, rollout="joint"),
    )
    history, history_actions, candidates = problem(past=4, horizon=5)  # 9 frames, the window is 8
    with pytest.raises(ValueError, match="rollout 'joint' needs history \\(4 frames\\) \\+ horizon \\(5\\)"):
        sampler.rollout(history, history_actions, candidates)
    with pytest.raises(ValueError, match="`rollout` must be one of"):
        SamplerConfig(rollout="parallel")
