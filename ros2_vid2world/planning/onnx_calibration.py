"""What an int8 denoiser is calibrated on: the inputs the exported denoiser gets when the planner imagines
from real frames.

Clips of a dataset folder give the history (real camera frames and the actions between them) and one
candidate action sequence (the recorded one, so that at least one imagined future is the real one);
the other candidates are drawn within the dataset's action range, as the planner's candidates spread
over its bounds. The torch model imagines them with the planner's sampler settings, and every
denoiser call (each denoising step and each commit of a finished frame) is recorded as the feed
{input name: array} the ONNX file takes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..dataset.store import EpisodeDataset
from ..world_model.folder import WorldModelFolder
from ..world_model.latent_codec import images_to_unit_range
from ..world_model.sampler_config import SamplerConfig
from .calibration_config import CalibrationConfig
from .imagination import ImaginationEngine, TorchRollout
from .onnx_denoiser import DenoiserLayout
from .onnx_engine import check_onnx_support, denoiser_feed, flat_past


@dataclass
class Clip:
    """One imagination call's inputs, in model space.

    history: [1, P, C, h, w] latents of P real frames; history_actions: [1, P-1, A] normalised actions
    between them; candidates: [N, H, A] normalised action sequences (the first is the recorded one);
    seed: of the imagination noise, so that two engines can be given the same.
    """

    history: torch.Tensor
    history_actions: torch.Tensor
    candidates: torch.Tensor
    seed: int


def check_calibration_data(
    folder: WorldModelFolder, dataset: EpisodeDataset, config: CalibrationConfig
) -> None:
    """ValueError (one line, naming the dataset) unless its frames and actions fit the model and it holds
    a clip of history_frames + horizon frames that fits the model's window."""
    name = f"dataset {str(dataset.path)!r}"
    if tuple(dataset.image_size) != tuple(folder.image_size):
        (height, width), (model_h, model_w) = dataset.image_size, folder.image_size
        raise ValueError(
            f"{name} has {height}x{width} frames; the model takes {model_h}x{model_w}: calibrate on frames "
            "of the model's size (e.g. the dataset it was trained on)."
        )
    action_dim = folder.model.config.action_dim
    if dataset.action_dim != action_dim:
        raise ValueError(f"{name} has {dataset.action_dim} action dimensions; the model takes {action_dim}.")
    window = folder.model.config.max_frames
    if config.clip_length > window:
        raise ValueError(
            f"`history_frames` + `horizon` ({config.clip_length}) must fit the model's window of {window} "
            "frames."
        )
    if not len(dataset.clip_starts(config.clip_length)):
        raise ValueError(f"{name} has no episode of {config.clip_length} frames (history_frames + horizon).")


def dataset_clips(
    folder: WorldModelFolder, dataset: EpisodeDataset, config: CalibrationConfig, seed: int | None = None
) -> Iterator[Clip]:
    """`config.clips` clips of the dataset (distinct starts while there are enough), chosen with `seed`
    (default `config.seed`): history and recorded actions from the dataset, the other candidates drawn
    uniformly within the dataset's action range."""
    check_calibration_data(folder, dataset, config)
    seed = config.seed if seed is None else seed
    rng = np.random.default_rng(seed)
    starts = dataset.clip_starts(config.clip_length)
    chosen = rng.choice(starts, size=config.clips, replace=config.clips > len(starts))
    low = np.asarray(dataset.action_stats["min"], np.float32)
    high = np.asarray(dataset.action_stats["max"], np.float32)
    normalize, device = folder.action_normalization.normalize, folder.model.device
    past = config.history_frames
    for number, start in enumerate(chosen):
        frames = torch.from_numpy(np.array(dataset.frames[start : start + past]))
        latents = folder.codec.encode(images_to_unit_range(frames).to(device)[None])
        actions = np.array(dataset.actions[start : start + config.clip_length - 1], np.float32)
        drawn = rng.uniform(low, high, size=(config.candidates - 1, config.horizon, len(low)))
        candidates = np.concatenate([actions[None, past - 1 :], drawn.astype(np.float32)])
        yield Clip(
            history=latents,
            history_actions=normalize(torch.from_numpy(actions[None, : past - 1])).to(device),
            candidates=normalize(torch.from_numpy(candidates)).to(device),
            seed=seed * 100_003 + number,
        )


@torch.no_grad()
def imagine_clip(engine: ImaginationEngine, clip: Clip) -> torch.Tensor:
    """[N, H, C, h, w] the clip's candidates imagined by `engine`, with noise drawn from the clip's seed."""
    generator = torch.Generator().manual_seed(clip.seed)
    engine.set_history(clip.history, clip.history_actions, generator)
    return engine.imagine(clip.candidates, generator)


class FeedRecordingEngine(ImaginationEngine):
    """The torch imagination engine, recording the feed the exported denoiser would get for every model
    call it makes (`feeds`, in call order)."""

    def __init__(self, folder: WorldModelFolder, config: SamplerConfig):
        check_onnx_support(folder.model, folder.scheduler)
        super().__init__(folder.model, folder.scheduler, config)
        self.layout = DenoiserLayout.of(folder.model)
        self.feeds: list[dict[str, np.ndarray]] = []

    def _start_rollout(self, count: int) -> TorchRollout:
        return FeedRecordingRollout(self, self._history.fork(), count)


class FeedRecordingRollout(TorchRollout):
    """A `TorchRollout` that records each call's inputs with the past it reads, flattened as the
    exported denoiser takes it (`flat_past`)."""

    def __init__(self, engine: FeedRecordingEngine, cache, count: int):
        super().__init__(engine._forward_cached, cache, engine.model.dtype)
        self.engine, self.count = engine, count

    def predict(self, sample, levels, led_to, keep) -> torch.Tensor:
        self._record(sample, levels, led_to, keep)
        return super().predict(sample, levels, led_to, keep)

    def commit(self, sample, levels, led_to, keep) -> None:
        self._record(sample, levels, led_to, keep)
        super().commit(sample, levels, led_to, keep)

    def _record(self, sample, levels, led_to, keep) -> None:
        past = flat_past(self.engine.layout, self.cache, self.count)
        self.engine.feeds.append(denoiser_feed(sample, levels, led_to, keep, past))


def calibration_feeds(
    folder: WorldModelFolder, clips: Iterable[Clip], config: SamplerConfig
) -> Iterator[dict]:
    """The denoiser's feeds while the torch model imagines each clip, one clip at a time (only one
    clip's feeds are held in memory)."""
    engine = FeedRecordingEngine(folder, config)
    for clip in clips:
        imagine_clip(engine, clip)
        yield from engine.feeds
        engine.feeds = []
