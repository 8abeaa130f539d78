"""Shared pieces for the bag tests: tiny random world models, and one torch thread on a shared CPU."""

from __future__ import annotations

from pathlib import Path

import pytest


def write_tiny_model(path: Path, action_dim: int = 2, action_stats: dict | None = None) -> Path:
    """A random-init tiny world-model folder: 16x16 pixel-space images, window of 8 frames."""
    from ros2_vid2world.world_model import causalize
    from ros2_vid2world.world_model.folder import WorldModelFolder
    from ros2_vid2world.world_model.noise_schedule import make_scheduler
    from ros2_vid2world.world_model.presets import base_unet_from_preset

    model = causalize(base_unet_from_preset("tiny"), action_dim=action_dim)
    WorldModelFolder(model=model, scheduler=make_scheduler(), action_stats=action_stats).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def one_torch_thread():
    """Two cores are shared with other work: oversubscribed OpenMP threads crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
