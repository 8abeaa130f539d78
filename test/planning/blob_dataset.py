"""A small dataset folder of real-looking frames for calibration tests: a coloured blob on a dark
background, moved by the recorded actions (velocities in pixels per step)."""

import numpy as np

from ros2_vid2world.dataset.store import DatasetWriter


def blob_frames(rng, length, size=16):
    """uint8 [length, size, size, 3]: a coloured blob moved by the returned velocities [length, 2]."""
    velocities = rng.uniform(-1.0, 1.0, (length, 2)).astype(np.float32)
    position, colour = rng.uniform(4, size - 4, 2), rng.uniform(60, 255, 3)
    rows, cols = np.mgrid[0:size, 0:size]
    frames = []
    for velocity in velocities:
        blob = np.exp(-((cols - position[0]) ** 2 + (rows - position[1]) ** 2) / 8.0)
        frames.append((blob[..., None] * colour + 20).clip(0, 255).astype(np.uint8))
        position = np.clip(position + velocity, 1, size - 2)
    return np.stack(frames), velocities


def write_blob_dataset(path, size=16, episodes=3, length=8, action_dim=2):
    """The dataset folder `path`: `episodes` blob episodes of `length` frames of `size` pixels (actions
    of another dimension than 2 repeat or cut the velocities)."""
    rng = np.random.default_rng(0)
    with DatasetWriter(path, fps=10) as writer:
        for _ in range(episodes):
            frames, velocities = blob_frames(rng, length, size)
            writer.add_episode(frames, np.resize(velocities, (length, action_dim)))
        writer.close()
    return path
