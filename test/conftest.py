"""Fixtures and settings every part of the suite shares.

Every DDS test talks to real node processes over Fast DDS; the run gets its own ROS_DOMAIN_ID (from
the pid) and localhost-only discovery, inherited by those processes, so parallel runs never cross.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The smallest planner that still runs every part of a decision: seconds per episode on 2 shared cores.
TINY_PLANNER = {
    "planner.population": 8,
    "planner.elites": 2,
    "planner.iterations": 1,
    "planner.horizon": 2,
    "planner.denoise_steps": 1,
    "planner.history_frames": 2,
}


@pytest.fixture(scope="session", autouse=True)
def ros_isolation():
    """A domain id for this run only, and discovery kept on this machine (inherited by node processes)."""
    saved = {name: os.environ.get(name) for name in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE")}
    os.environ["ROS_DOMAIN_ID"] = str(1 + os.getpid() % 101)
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def write_tiny_model(
    path: Path, action_dim: int = 2, action_stats: dict | None = None, max_frames: int = 8, **timing
):
    """A random-init tiny world-model folder: 16x16 pixel-space images, a window of `max_frames`;
    `timing`: control_period and action_space (default 0.1 s joint velocities)."""
    from ros2_vid2world.world_model import causalize
    from ros2_vid2world.world_model.folder import WorldModelFolder
    from ros2_vid2world.world_model.noise_schedule import make_scheduler
    from ros2_vid2world.world_model.presets import base_unet_from_preset

    model = causalize(base_unet_from_preset("tiny"), action_dim=action_dim, max_frames=max_frames)
    WorldModelFolder(model=model, scheduler=make_scheduler(), action_stats=action_stats, **timing).save(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A random-init tiny world-model folder: 16x16 pixel-space images, action_dim 2, window of 8."""
    return write_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture
def one_torch_thread():
    """Two cores are shared with other work: oversubscribed OpenMP threads crawl."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def keep_torch_threads():
    """A CLI run with --threads changes the whole process: give the setting back after the test."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
