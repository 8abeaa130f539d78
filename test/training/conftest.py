"""A small dataset of a square moved by 2-D actions, written with the real DatasetWriter."""

from __future__ import annotations

import numpy as np
import pytest

from ros2_vid2world.dataset import DatasetWriter


def square_episode(rng: np.random.Generator, length: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    position = rng.integers(3, size - 6, 2).astype(float)
    actions = rng.uniform(-1, 1, (length, 2)).astype(np.float32)
    frames = np.zeros((length, size, size, 3), np.uint8)
    for t in range(length):
        y, x = np.clip(position, 0, size - 4).astype(int)
        frames[t, y : y + 4, x : x + 4] = 255
        position += 2 * actions[t]
    return frames, actions


@pytest.fixture(scope="session")
def square_dataset(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "squares"
    rng = np.random.default_rng(0)
    with DatasetWriter(path, fps=10) as writer:
        for _ in range(6):
            writer.add_episode(*square_episode(rng, 8), source="synthetic")
        writer.close()
    return path
