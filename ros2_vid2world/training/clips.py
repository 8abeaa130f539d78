"""Fixed-length training clips drawn from a dataset folder, split into training and held-out episodes."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..dataset import EpisodeDataset
from ..world_model.action_normalization import ActionNormalization


def split_episodes(dataset: EpisodeDataset, holdout: int, clip_frames: int) -> tuple[list[int], list[int]]:
    """The last `holdout` episodes long enough for a clip are held out; the rest train.

    Raises ValueError when no episode is long enough, or holding out would leave nothing to train on.
    """
    usable = [i for i, e in enumerate(dataset.episodes) if e["length"] >= clip_frames]
    if not usable:
        longest = max(e["length"] for e in dataset.episodes)
        raise ValueError(
            f"dataset {str(dataset.path)!r}: no episode has {clip_frames} frames for a clip "
            f"(longest: {longest}). Lower --clip-frames or record longer episodes."
        )
    holdout = min(holdout, len(usable) - 1)
    return usable[: len(usable) - holdout], usable[len(usable) - holdout :]


class ClipDataset(Dataset):
    """Clips of `clip_frames` consecutive frames from one episode each.

    Items: `frames` [F, 3, H, W] float32 in [-1, 1] (the pixel-space model range) and `actions`
    [F, A] float32 in the model's units (`normalization`; default: from the dataset's own statistics),
    the same normalisation the planner applies (it reads it from the model folder).
    """

    def __init__(
        self,
        dataset: EpisodeDataset,
        episodes: list[int],
        clip_frames: int,
        normalization: ActionNormalization | None = None,
    ):
        self.dataset = dataset
        self.clip_frames = clip_frames
        self.starts = dataset.clip_starts(clip_frames, episodes)
        self.normalization = normalization or ActionNormalization.from_stats(
            dataset.action_stats, dataset.action_dim
        )

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        span = slice(int(self.starts[index]), int(self.starts[index]) + self.clip_frames)
        frames = torch.from_numpy(np.array(self.dataset.frames[span]))  # a copy: the memory map is read-only
        frames = frames.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        actions = self.normalization.normalize(np.asarray(self.dataset.actions[span], np.float32))
        return {"frames": frames, "actions": torch.from_numpy(actions)}
