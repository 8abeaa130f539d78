import pytest
import torch

from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.presets import base_unet_from_preset


@pytest.fixture(scope="module")
def tiny_base():
    return base_unet_from_preset("tiny", seed=0).eval()


@pytest.fixture(scope="module")
def tiny_model(tiny_base):
    """A causalized tiny model whose action embedding is not zero, so actions visibly matter."""
    model = causalize(tiny_base, action_dim=2).eval()
    torch.manual_seed(1)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    return model


def random_inputs(batch=2, frames=5, action_dim=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    sample = torch.randn(batch, frames, 3, 16, 16, generator=generator)
    timesteps = torch.randint(0, 1000, (batch, frames), generator=generator)
    actions = torch.randn(batch, frames, action_dim, generator=generator)
    return sample, timesteps, actions
