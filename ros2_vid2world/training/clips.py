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
    the same normalisation the planner applies (it reads it from the model folder). With a `latents`
    cache (latent-space models), `latents` [F, C, h, w] replace the frames, and the clip's first frame
    comes as `first_frame` [3, H, W] with its CLIP `embedding` [D] when the cache has them (the image
    conditioning of Stable Video Diffusion bases).
    """

    def __init__(
        self,
        dataset: EpisodeDataset,
        episodes: list[int],
        clip_frames: int,
        normalization: ActionNormalization | None = None,
        latents=None,
    ):
        self.dataset = dataset
        self.episodes = episodes
        self.latents = latents  # a LatentCache, or None
        self.clip_frames = clip_frames
        self.starts = dataset.clip_starts(clip_frames, episodes)
        self.normalization = normalization or ActionNormalization.from_stats(
            dataset.action_stats, dataset.action_dim
        )

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        start = int(self.starts[index])
        span = slice(start, start + self.clip_frames)
        recorded = np.asarray(self.dataset.actions[span], np.float32)
        actions = torch.from_numpy(self.normalization.normalize(recorded))
        if self.latents is None:
            return {"frames": _pixels(self.dataset.frames[span]), "actions": actions}
        item = {
            "latents": torch.from_numpy(np.array(self.latents.latents[span])),
            "actions": actions,
            "first_frame": _pixels(self.dataset.frames[start : start + 1])[0],
        }
        if self.latents.embeddings is not None:
            item["embedding"] = torch.from_numpy(np.array(self.latents.embeddings[start]))
        return item


def _pixels(frames: np.ndarray) -> torch.Tensor:
    """uint8 [F, H, W, 3] (a read-only memory map: copied) -> float32 [F, 3, H, W] in [-1, 1]."""
    return torch.from_numpy(np.array(frames)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


class VideoClipDataset(Dataset):
    """Clips of `clip_frames` consecutive frames, no actions: what stage (a) pre-trains on, from any
    dataset folder, action-free video of other domains included. Items: `frames` [F, 3, H, W]."""

    def __init__(self, dataset: EpisodeDataset, clip_frames: int, episodes: list[int] | None = None):
        self.dataset, self.clip_frames = dataset, clip_frames
        self.starts = dataset.clip_starts(clip_frames, episodes)
        if not len(self.starts):
            raise ValueError(
                f"dataset {str(dataset.path)!r}: no episode has the {clip_frames} frames of a clip."
            )

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        start = int(self.starts[index])
        return {"frames": _pixels(self.dataset.frames[start : start + self.clip_frames])}
