"""Small datasets written with the real DatasetWriter: a square moved by 2-D actions; a synthetic arm."""

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


def arm_frames(joints: np.ndarray, size: int = 16) -> np.ndarray:
    """[T, 2] -> uint8 [T, size, size, 3]: a red dot on a circle at angle q0, a green bar q1 high."""
    frames = np.zeros((len(joints), size, size, 3), np.uint8)
    for t, (q0, q1) in enumerate(joints):
        y, x = (np.array([np.sin(q0), np.cos(q0)]) * 5.5 + size / 2).astype(int)
        frames[t, y - 1 : y + 1, x - 1 : x + 1, 0] = 255
        height = int(round((q1 + 2.5) / 5 * (size - 1)))
        frames[t, size - 1 - height :, 0:2, 1] = 255
    return frames


def write_arm_dataset(path, episodes=14, length=20, joints=True, seed=0):
    """A dataset of `arm_frames` along random joint walks; its path."""
    rng = np.random.default_rng(seed)
    with DatasetWriter(path, fps=10, joint_names=["shoulder", "wrist"] if joints else None) as writer:
        for episode in range(episodes):
            q = np.cumsum(rng.normal(0, 0.4, (length, 2)), axis=0) + rng.uniform(-2, 2, 2)
            q[:, 0] = (q[:, 0] + np.pi) % (2 * np.pi) - np.pi
            q[:, 1] = np.clip(q[:, 1], -2.4, 2.4)
            if episode == 0:  # the shoulder's recorded range covers the circle; the wrist's stops short
                q[:2] = [[np.pi - 0.01, 2.4], [-np.pi + 0.01, -2.4]]
            writer.add_episode(arm_frames(q), np.zeros((length, 2), np.float32),
                               joints=q.astype(np.float32) if joints else None, source="synthetic")
        writer.close()
    return path


def push_frames(pusher: np.ndarray, poses: np.ndarray, size: int = 24) -> np.ndarray:
    """[T, 2] pusher x, y and [T, 3] object x, y, yaw (m, m, rad; positions in +-0.25 m) -> uint8 frames:
    a green dot for the pusher, a bar red at one end and blue at the other for the object."""
    frames = np.zeros((len(pusher), size, size, 3), np.uint8)
    scale = (size - 1) / 0.5

    def pixel(x, y):
        return int(round((0.25 - y) * scale)), int(round((x + 0.25) * scale))

    for t, ((px, py), (ox, oy, yaw)) in enumerate(zip(pusher, poses, strict=True)):
        for along in np.linspace(-0.08, 0.08, 17):
            row, col = pixel(ox + along * np.cos(yaw), oy + along * np.sin(yaw))
            if 0 <= row < size and 0 <= col < size:
                frames[t, row, col, 0 if along < 0 else 2] = 255
        row, col = pixel(px, py)
        frames[t, max(row - 1, 0) : row + 2, max(col - 1, 0) : col + 2, 1] = 255
    return frames


def write_push_dataset(path, episodes=16, length=20, seed=0):
    """A dataset of `push_frames` along random walks of a pusher and an object, with object poses."""
    rng = np.random.default_rng(seed)
    names = ["pusher_x", "pusher_y"]
    with DatasetWriter(path, fps=5, joint_names=names, object_pose_source="synthetic") as writer:
        for _ in range(episodes):
            pusher = np.clip(np.cumsum(rng.normal(0, 0.04, (length, 2)), axis=0) + rng.uniform(-0.2, 0.2, 2),
                             -0.22, 0.22)
            poses = np.cumsum(rng.normal(0, [0.02, 0.02, 0.5], (length, 3)), axis=0)
            poses += [*rng.uniform(-0.15, 0.15, 2), rng.uniform(-np.pi, np.pi)]
            poses[:, :2] = np.clip(poses[:, :2], -0.17, 0.17)
            poses[:, 2] = (poses[:, 2] + np.pi) % (2 * np.pi) - np.pi
            writer.add_episode(push_frames(pusher, poses), np.zeros((length, 2), np.float32),
                               joints=pusher.astype(np.float32), object_poses=poses.astype(np.float32),
                               source="synthetic")
        writer.close()
    return path
