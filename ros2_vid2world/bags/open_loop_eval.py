"""Open-loop prediction on recorded episodes: K recorded frames and the recorded actions in, H imagined
frames out, compared with what the camera recorded, step by step, and with the copy-last-frame baseline.

The model runs through the plain `AutoregressiveSampler` (the reference), several starting points per
batch, so every start gets its own history.

When the model folder has a state probe, the probe also reads the state (joints, and the object's pose
if it reads one) off every imagined frame and off the recorded frame it stands for: the difference is
what the planner's cost sees of the model's error, in degrees and millimetres. PSNR alone can mislead
there: a model that blurs the background but puts a small pusher in the right place plans well, and
one that copies the scene but leaves the pusher where it was does not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from ..settings import check_settings, same_rules_as, setting
from ..world_model.folder import WorldModelFolder
from ..world_model.latent_codec import images_to_unit_range, unit_range_to_images
from ..world_model.sampler import AutoregressiveSampler, SamplerConfig
from .image_metrics import psnr, ssim

# What `for_window` aims at when context or horizon is left to it.
PREFERRED_FRAMES = 4


@dataclass(frozen=True)
class OpenLoopConfig:
    """Open-loop prediction settings. context and horizon left None are fitted to the model's window
    by `for_window` (as many as PREFERRED_FRAMES each, the horizon first)."""

    context: int | None = setting(None, "Recorded frames given to the model (K).", unit="frames", low=1)
    horizon: int | None = setting(None, "Frames imagined after them (H).", unit="frames", low=1)
    starts: int = setting(32, "Starting points, at most, spread evenly over all the episodes.", low=1)
    denoise_steps: int = same_rules_as(SamplerConfig, "num_inference_steps", 10)
    guidance_scale: float = same_rules_as(SamplerConfig, "guidance_scale", 2.5)
    batch_size: int = setting(8, "Starting points per sampler call.", low=1)
    seed: int = setting(0, "Seed of the sampling noise.", low=0)
    shuffled_actions: bool = setting(
        False,
        "Also imagine every start with another start's actions (same history, same noise): how much the "
        "prediction depends on the actions (a model that ignores them scores the same).",
    )

    def __post_init__(self):
        check_settings(self)

    def for_window(self, window: int) -> OpenLoopConfig:
        """This config with context and horizon set: those given are kept, the others chosen so that
        both fit a model that sees `window` frames (at least 1 each)."""
        horizon = self.horizon
        if horizon is None:
            horizon = max(1, min(PREFERRED_FRAMES, window - (self.context or 1)))
        context = self.context
        if context is None:
            context = max(1, min(PREFERRED_FRAMES, window - horizon))
        return dataclasses.replace(self, context=context, horizon=horizon)


@dataclass
class OpenLoopResult:
    """Per start and horizon step: psnr, ssim and the copy-last baseline's, all [S, H]; starts as
    (episode, index of the last context frame); examples: recorded [E, K+H, h, w, 3] and imagined
    [E, H, h, w, 3] uint8 for the first E starts."""

    starts: list[tuple[int, int]]
    psnr: np.ndarray
    ssim: np.ndarray
    copy_last_psnr: np.ndarray
    copy_last_ssim: np.ndarray
    recorded_examples: np.ndarray
    imagined_examples: np.ndarray
    shuffled_psnr: np.ndarray | None = None  # with another start's actions ([S, H]; shuffled_actions)
    shuffled_ssim: np.ndarray | None = None
    # With a state probe: its states and their error units, and [S, H, J] absolute errors of the state
    # read off the imagined (copied, shuffled-action) frame against the one read off the recorded frame.
    state_names: list[str] | None = None
    state_units: list[str] | None = None
    state_error: np.ndarray | None = None
    copy_last_state_error: np.ndarray | None = None
    shuffled_state_error: np.ndarray | None = None
    # With a probe that reads an object's yaw: [S, H, 2] the object's turn since the last context frame
    # (degrees, signed, the shorter way round) read off the recorded frame and off the imagined one.
    object_turns: np.ndarray | None = None


def starting_points(lengths: list[int], context: int, horizon: int, count: int) -> list[tuple[int, int]]:
    """Up to `count` (episode, t) with t the last context frame, K frames before it and H after it inside
    the episode, spread evenly over all such points. Raises ValueError when no episode is long enough."""
    eligible = [(e, t) for e, length in enumerate(lengths) for t in range(context - 1, length - horizon)]
    if not eligible:
        raise ValueError(
            f"no episode is long enough for --context {context} + --horizon {horizon} frames "
            f"(episode lengths: {lengths})."
        )
    picks = np.unique(np.linspace(0, len(eligible) - 1, min(count, len(eligible))).round().astype(int))
    return [eligible[i] for i in picks]


def _flat(frames: np.ndarray) -> np.ndarray:
    """[S, H, h, w, 3] -> [S * H, h, w, 3]."""
    return frames.reshape(-1, *frames.shape[2:])


def evaluate_open_loop(
    folder: WorldModelFolder,
    episodes: list[dict[str, np.ndarray]],
    config: OpenLoopConfig,
    examples: int = 4,
    progress: bool = False,
) -> OpenLoopResult:
    """episodes: dicts with `frames` uint8 [T, h, w, 3] at the model's size and `actions` [T, A];
    context and horizon left None are fitted to the model's window."""
    config = config.for_window(folder.model.config.max_frames)
    starts = starting_points(
        [len(e["frames"]) for e in episodes], config.context, config.horizon, config.starts
    )
    k, h = config.context, config.horizon
    normalization = folder.action_normalization
    # Each start's new actions replaced by the next start's (a derangement: no start keeps its own).
    future = [normalization.normalize(episodes[e]["actions"][t : t + h]) for e, t in starts]
    others = future[1:] + future[:1]
    swapped = others if config.shuffled_actions else None
    imagined, shuffled = imagine(folder, episodes, starts, config, swapped, progress)
    target = np.stack([episodes[e]["frames"][t + 1 : t + h + 1] for e, t in starts])
    last = np.repeat(np.stack([episodes[e]["frames"][t] for e, t in starts])[:, None], h, axis=1)
    shape = (len(starts), h)
    shown = min(examples, len(starts))
    recorded_examples = np.stack([episodes[e]["frames"][t - k + 1 : t + h + 1] for e, t in starts[:shown]])
    states = {}
    probe = folder.state_probe
    if probe is not None:
        recorded = _read_states(probe, target)
        imagined_states, last_states = _read_states(probe, imagined), _read_states(probe, last)
        states = {
            "state_names": list(probe.config.joint_names),
            "state_units": probe.error_units,
            "state_error": _errors(probe, imagined_states, recorded),
            "copy_last_state_error": _errors(probe, last_states, recorded),
            "shuffled_state_error": None if shuffled is None else _state_errors(probe, shuffled, recorded),
            "object_turns": _object_turns(probe, last_states, recorded, imagined_states),
        }
    return OpenLoopResult(
        starts=starts,
        psnr=psnr(_flat(imagined), _flat(target)).reshape(shape),
        ssim=ssim(_flat(imagined), _flat(target)).reshape(shape),
        copy_last_psnr=psnr(_flat(last), _flat(target)).reshape(shape),
        copy_last_ssim=ssim(_flat(last), _flat(target)).reshape(shape),
        recorded_examples=recorded_examples,
        imagined_examples=imagined[:shown],
        shuffled_psnr=None if shuffled is None else psnr(_flat(shuffled), _flat(target)).reshape(shape),
        shuffled_ssim=None if shuffled is None else ssim(_flat(shuffled), _flat(target)).reshape(shape),
        **states,
    )


def imagine(
    folder: WorldModelFolder,
    episodes: list[dict[str, np.ndarray]],
    starts: list[tuple[int, int]],
    config: OpenLoopConfig,
    other_actions: list[np.ndarray] | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """From each start (episode, t): its K recorded frames up to t and the recorded actions in, the H
    frames after t imagined out, uint8 [S, H, h, w, 3] (config's context and horizon set). With
    `other_actions` (per start, [H, A] normalised), the same starts are imagined again with those
    actions and the same noise (second value; else None)."""
    sampler = AutoregressiveSampler(
        folder.model,
        folder.scheduler,
        SamplerConfig(num_inference_steps=config.denoise_steps, guidance_scale=config.guidance_scale),
    )
    generator = torch.Generator().manual_seed(config.seed)
    device = next(folder.model.parameters()).device
    conditioner = folder.conditioner
    k, h = config.context, config.horizon
    normalization = folder.action_normalization
    imagined_all, shuffled_all = [], []
    batches = range(0, len(starts), config.batch_size)
    for first in tqdm(batches, desc="imagining", unit="batch", disable=not progress, leave=False):
        chosen = starts[first : first + config.batch_size]
        history = np.stack([episodes[e]["frames"][t - k + 1 : t + 1] for e, t in chosen])
        actions = np.stack(
            [normalization.normalize(episodes[e]["actions"][t - k + 1 : t + h]) for e, t in chosen]
        )
        pixels = images_to_unit_range(torch.from_numpy(history)).to(device)
        model_history = folder.codec.encode(pixels)
        actions_t = torch.from_numpy(actions).float().to(device)
        # Image-conditioned (SVD) models see the first context frame's image conditioning.
        conditioning = None if conditioner is None else conditioner(pixels[:, 0], generator)
        with torch.no_grad():
            state = generator.get_state()
            latents = sampler.rollout(
                model_history, actions_t[:, : k - 1], actions_t[:, k - 1 :], generator, conditioning
            )
            imagined_all.append(unit_range_to_images(folder.codec.decode(latents)).cpu().numpy())
            if other_actions is not None:
                after = generator.get_state()
                generator.set_state(state)  # the same noise: only the actions differ
                swapped = torch.from_numpy(np.stack(other_actions[first : first + len(chosen)]))
                shuffled = sampler.rollout(
                    model_history, actions_t[:, : k - 1], swapped.float().to(device), generator, conditioning
                )
                shuffled_all.append(unit_range_to_images(folder.codec.decode(shuffled)).cpu().numpy())
                generator.set_state(after)
    return np.concatenate(imagined_all), (np.concatenate(shuffled_all) if shuffled_all else None)


def _read_states(probe, frames: np.ndarray) -> torch.Tensor:
    """uint8 [S, H, h, w, 3] -> [S, H, J] the probe's reading of every frame."""
    device = next(probe.parameters()).device
    pixels = images_to_unit_range(torch.from_numpy(_flat(frames))).to(device)
    read = torch.cat([probe.joints(chunk) for chunk in pixels.split(256)])
    return read.reshape(*frames.shape[:2], -1)


def _state_errors(probe, frames: np.ndarray, recorded: torch.Tensor) -> np.ndarray:
    """[S, H, J] errors (degrees, millimetres) of the state read off `frames` against `recorded`."""
    return _errors(probe, _read_states(probe, frames), recorded)


def _errors(probe, states: torch.Tensor, recorded: torch.Tensor) -> np.ndarray:
    return probe.absolute_errors(states, recorded).cpu().numpy()


def _object_turns(
    probe, last: torch.Tensor, recorded: torch.Tensor, imagined: torch.Tensor
) -> np.ndarray | None:
    """[S, H, 2] the object's signed turn (degrees) since the last context frame, recorded and imagined;
    None when the probe reads no object yaw. The probe reads all three frames, so its own bias cancels."""
    if "object_yaw" not in probe.config.joint_names:
        return None
    yaw = list(probe.config.joint_names).index("object_yaw")

    def turn(states: torch.Tensor) -> torch.Tensor:
        change = states[..., yaw] - last[..., yaw]
        return torch.rad2deg(torch.remainder(change + torch.pi, 2 * torch.pi) - torch.pi)

    return torch.stack([turn(recorded), turn(imagined)], dim=-1).cpu().numpy()
