"""Fixed-length training clips drawn from a dataset folder, split into training and held-out episodes."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..dataset import EpisodeDataset
from ..sim.planar_pose import wrap_angle
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


# Turn oversampling (`clip_weights`): a clip whose object turns by more than each of these (degrees, from
# its first frame) is drawn once more as often per unit of oversampling. 5 degrees is above the noise of a
# yaw read off a 64 px image; 20 a large turn for a 0.2 s step (the push task's 89th percentile).
TURN_BANDS_DEG = (5.0, 10.0, 20.0)


def clip_turns(dataset: EpisodeDataset, starts: np.ndarray, clip_frames: int) -> np.ndarray:
    """[C] degrees: the largest turn of the dataset's object from each clip's first frame."""
    yaw = np.asarray(dataset.object_poses[:, 2], np.float64)
    turns = np.zeros(len(starts))
    for offset in range(1, clip_frames):
        turns = np.maximum(turns, np.abs(np.rad2deg(wrap_angle(yaw[starts + offset] - yaw[starts]))))
    return turns


def clip_weights(dataset: EpisodeDataset, starts: np.ndarray, clip_frames: int, oversampling: float):
    """[C] how often each clip is drawn, relative to a clip whose object does not turn: 1 plus
    `oversampling` per band of TURN_BANDS_DEG its turn exceeds. None for 0 (every clip alike).

    Under a squared error a model unsure which way a push turns the object is best off drawing it half
    turned both ways. Turning clips are a quarter of the push task's; drawing them more often made its
    model's held-out turns go the right way more often and further (models/push/README.md).

    Raises ValueError when the dataset keeps no object poses.
    """
    if oversampling == 0:
        return None
    if dataset.object_poses is None:
        raise ValueError(
            f"--data {str(dataset.path)!r} keeps no object poses: --turn-oversampling needs them "
            "(`vid2world dataset --object-pose-topic`)."
        )
    turns = clip_turns(dataset, starts, clip_frames)
    bands = sum((turns > threshold).astype(np.float64) for threshold in TURN_BANDS_DEG)
    return 1.0 + oversampling * bands


class ClipDataset(Dataset):
    """Clips of `clip_frames` consecutive frames from one episode each.

    Items: `frames` [F, 3, H, W] float32 in [-1, 1] (the pixel-space model range) and `actions`
    [F, A] float32 in the model's units (`normalization`; default: from the dataset's own statistics),
    the same normalisation the planner applies (it reads it from the model folder). `weights` ([C] or
    None): how often each clip is drawn (`clip_weights`; the trainer's batches). With a `latents`
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
        turn_oversampling: float = 0.0,
    ):
        self.dataset = dataset
        self.episodes = episodes
        self.latents = latents  # a LatentCache, or None
        self.clip_frames = clip_frames
        self.starts = dataset.clip_starts(clip_frames, episodes)
        self.weights = clip_weights(dataset, self.starts, clip_frames, turn_oversampling)
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
