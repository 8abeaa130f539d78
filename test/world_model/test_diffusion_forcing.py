"""The Diffusion Forcing loss: independent per-frame levels, optionally a share of clean-context clips."""

import pytest
import torch

from ros2_vid2world.world_model.diffusion_forcing import DiffusionForcingConfig, diffusion_forcing_loss
from ros2_vid2world.world_model.noise_schedule import make_scheduler

from .conftest import random_inputs


class LevelRecorder(torch.nn.Module):
    """The tiny model, remembering the per-frame levels of each call."""

    def __init__(self, model):
        super().__init__()
        self.model, self.levels = model, []

    @property
    def config(self):
        return self.model.config

    def forward(self, sample, timesteps, actions, action_mask=None):
        self.levels.append(timesteps.clone())
        return self.model(sample, timesteps, actions, action_mask=action_mask)


def levels_seen(model, config, batch=64, frames=5):
    recorder = LevelRecorder(model)
    clean, _, actions = random_inputs(batch=batch, frames=frames)
    with torch.no_grad():
        diffusion_forcing_loss(
            recorder, make_scheduler(), clean, actions, config, generator=torch.Generator().manual_seed(3)
        )
    return recorder.levels[0]


def test_clean_context_clips_have_a_small_level_prefix_and_noisy_frames_after(tiny_model):
    levels = levels_seen(tiny_model, DiffusionForcingConfig(clean_context_prob=1.0, context_timestep=20))
    for row in levels:
        small = (row <= 20).int()
        prefix = int(torch.cumprod(small, 0).sum())  # leading frames at small levels
        assert 1 <= prefix <= 5
    # Every clip keeps at least its last frame at an independent level: across 64 clips some are high.
    assert (levels[:, -1] > 500).any() and (levels[:, 0] <= 20).all()


def test_terminal_share_puts_noisy_frames_at_the_last_level(tiny_model):
    config = DiffusionForcingConfig(clean_context_prob=1.0, terminal_prob=1.0)
    levels = levels_seen(tiny_model, config)
    for row in levels:
        assert set(row.tolist()) <= set(range(21)) | {999}  # clean past, then pure noise
        assert row[0] <= 20 and row[-1] == 999


def test_without_clean_contexts_levels_are_independent_and_mostly_not_small(tiny_model):
    levels = levels_seen(tiny_model, DiffusionForcingConfig())
    assert (levels[:, 0] <= 20).float().mean() < 0.2


def test_probability_zero_draws_nothing_extra(tiny_model):
    # Old runs resume bit for bit: the default config takes exactly the random draws it always took.
    default = levels_seen(tiny_model, DiffusionForcingConfig())
    explicit = levels_seen(tiny_model, DiffusionForcingConfig(clean_context_prob=0.0, context_timestep=50))
    assert torch.equal(default, explicit)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"clean_context_prob": 1.5}, r"`clean_context_prob` must be in \[0, 1\]. Got 1.5"),
        ({"terminal_prob": -0.1}, r"`terminal_prob` must be in \[0, 1\]. Got -0.1"),
        ({"context_timestep": -1}, "`context_timestep` must be an integer >= 0. Got -1"),
        ({"action_dropout": 1.0}, r"`action_dropout` must be in \[0, 1\). Got 1.0"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiffusionForcingConfig(**kwargs)


class ContextSpoiler(torch.nn.Module):
    """The tiny model, with its prediction for frames at small levels replaced by garbage."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    @property
    def config(self):
        return self.model.config

    def forward(self, sample, timesteps, actions, action_mask=None):
        out = self.model(sample, timesteps, actions, action_mask=action_mask)
        spoiled = torch.where((timesteps <= 20)[..., None, None, None], out.sample + 100.0, out.sample)
        return type(out)(sample=spoiled)


def loss_of(model, config):
    clean, _, actions = random_inputs(batch=16, frames=5)
    with torch.no_grad():
        return diffusion_forcing_loss(
            model, make_scheduler(), clean, actions, config, generator=torch.Generator().manual_seed(5)
        )


def test_the_context_frames_of_clean_context_clips_are_not_supervised(tiny_model):
    # Every clip clean-context with pure-noise frames after the split: the frames at small levels are
    # exactly the contexts, and what the model says about them must not count.
    config = DiffusionForcingConfig(clean_context_prob=1.0, terminal_prob=1.0)
    torch.testing.assert_close(loss_of(ContextSpoiler(tiny_model), config), loss_of(tiny_model, config))
    # In plain Diffusion Forcing every frame counts, low levels included.
    plain = DiffusionForcingConfig()
    assert loss_of(ContextSpoiler(tiny_model), plain) > loss_of(tiny_model, plain) + 10.0


class RegionSpoiler(torch.nn.Module):
    """The tiny model with a large error added inside `region` ([H, W] bool) of every frame."""

    def __init__(self, model, region):
        super().__init__()
        self.model, self.region = model, region

    @property
    def config(self):
        return self.model.config

    def forward(self, sample, timesteps, actions, action_mask=None):
        out = self.model(sample, timesteps, actions, action_mask=action_mask)
        return type(out)(sample=out.sample + 10.0 * self.region)


def test_motion_weight_counts_errors_where_the_picture_changed_more(tiny_model):
    # A 4x4 square moving 4 pixels a frame on a still background: an error where it moves counts
    # 1 + w * change times one on the background; without the weight both count alike.
    clean = -torch.ones(4, 5, 3, 16, 16)
    for t in range(5):
        clean[:, t, :, 6:10, 4 * t : 4 * t + 4] = 1.0  # change 2 where it leaves and where it arrives
    moving = torch.zeros(16, 16, dtype=torch.bool)
    moving[6:10, 4:8] = True  # left at frame 2, reached at frame 1: changed in 2 of the 5 frames
    still = torch.zeros(16, 16, dtype=torch.bool)
    still[0:4, 4:8] = True
    actions = torch.zeros(4, 5, 2)

    def added_loss(region, weight):
        config = DiffusionForcingConfig(action_dropout=0.0, motion_weight=weight)
        losses = []
        for model in (RegionSpoiler(tiny_model, region), tiny_model):
            with torch.no_grad():
                generator = torch.Generator().manual_seed(0)
                losses.append(diffusion_forcing_loss(model, make_scheduler(), clean, actions, config,
                                                     generator=generator))
        return (losses[0] - losses[1]).item()

    assert added_loss(moving, 0.0) == pytest.approx(added_loss(still, 0.0), rel=0.05)
    # Weight 5: 1 + 5 * 2 = 11 on the 32 cells that changed in frames 1-4 (16 left, 16 reached), 1 on the
    # other 224, so each of those frames weighs 576 in all (frame 0, unchanged: 256). The moving region
    # changed in frames 1 and 2, the still one never.
    moving_share = 1 / 256 + 2 * 11 / 576 + 2 / 576
    still_share = 1 / 256 + 4 / 576
    ratio = added_loss(moving, 5.0) / added_loss(still, 5.0)
    assert ratio == pytest.approx(moving_share / still_share, rel=0.05)  # 4.2


def test_context_loss_keeps_the_clean_past_in_the_loss(tiny_model):
    # As the trainer did before the clean past was left out: what the model says about it counts again.
    config = DiffusionForcingConfig(clean_context_prob=1.0, terminal_prob=1.0, context_loss=True)
    assert loss_of(ContextSpoiler(tiny_model), config) > loss_of(tiny_model, config) + 10.0
