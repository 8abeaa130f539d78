"""Training a `StateProbe` from a dataset's camera frames and the joint positions recorded with them (and
the object poses, when the dataset keeps them)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..dataset.store import EpisodeDataset
from ..world_model.latent_codec import images_to_unit_range
from ..world_model.state_probe import OBJECT_STATES, OBJECT_UNITS, StateProbe, circle_points
from .probe_train_config import ProbeTrainConfig

__all__ = ["ProbeTrainConfig", "periodic_joints", "probe_states", "train_state_probe"]


# A joint whose recorded positions cover the circle but for this much turns without limit: a wrapped
# continuous joint covers (-pi, pi]; the reacher's elbow, which stops at +-160 degrees, 5.59 rad.
PERIODIC_SPAN = 2 * math.pi - 0.25


def periodic_joints(joints: np.ndarray) -> list[bool]:
    """[N, J] recorded positions -> per joint, whether it turned without limit (see PERIODIC_SPAN)."""
    return [bool(span >= PERIODIC_SPAN) for span in np.ptp(joints, axis=0)]


def probe_states(
    dataset: EpisodeDataset, joint_names: list[str], linear_joints: list[str] | tuple[str, ...] = ()
) -> tuple[list[str], np.ndarray, list[str]]:
    """(state names, [N, S] values, units) a probe learns from `dataset`: its joints (in rad, or in m for
    `linear_joints`), then the object's x, y, yaw when the dataset keeps object poses."""
    if len(joint_names) != dataset.joints.shape[1]:
        raise ValueError(
            f"{len(joint_names)} joint names {joint_names} for a dataset of {dataset.joints.shape[1]} joints."
        )
    unknown = sorted(set(linear_joints) - set(joint_names))
    if unknown:
        raise ValueError(f"linear joints {unknown} are not joints of the dataset ({joint_names}).")
    names, units = list(joint_names), ["m" if name in linear_joints else "rad" for name in joint_names]
    values = np.array(dataset.joints, dtype=np.float32)  # a copy: the memory map is read-only
    if dataset.object_poses is not None:
        names += OBJECT_STATES
        units += OBJECT_UNITS
        values = np.concatenate([values, np.asarray(dataset.object_poses, dtype=np.float32)], axis=1)
    return names, values, units


def probe_frame_split(dataset: EpisodeDataset, holdout_episodes: int) -> tuple[np.ndarray, np.ndarray]:
    """(training frame indices, held-out frame indices): the last `holdout_episodes` episodes held out.

    Raises ValueError when the dataset cannot train a probe (no joints, too few episodes)."""
    if dataset.joints.ndim != 2 or dataset.joints.shape[1] == 0:
        raise ValueError(
            f"dataset {str(dataset.path)!r} has no joint positions: record the joint states topic with the "
            "camera (`vid2world dataset --joint-topic`) to train a state probe."
        )
    episodes = dataset.episodes
    if len(episodes) <= holdout_episodes:
        raise ValueError(
            f"dataset {str(dataset.path)!r} has {len(episodes)} episodes; a state probe needs more than the "
            f"{holdout_episodes} held out."
        )
    held = episodes[-holdout_episodes:]
    first_held = held[0]["start"]
    spans = [np.arange(e["start"], e["start"] + e["length"]) for e in episodes[:-holdout_episodes]]
    trained = np.concatenate(spans)
    held_out = np.arange(first_held, first_held + sum(e["length"] for e in held))
    return trained, held_out


def imagined_frames(
    folder, dataset: EpisodeDataset, episodes: list[int], count: int, config: ProbeTrainConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """About `count` frames the world model (`folder`) imagines from recorded frames of `episodes`
    (one context frame, the recorded actions, `imagined_horizon` steps, the planner's sampling: no
    guidance, `imagined_denoise_steps`), uint8 [N, h, w, 3], and the dataset's global index of the
    recorded frame each stands for, [N]."""
    from ..bags.open_loop_eval import OpenLoopConfig, imagine

    horizon = config.imagined_horizon
    loaded = [dataset.episode(number) for number in episodes]
    chosen = [(e, t) for e, arrays in enumerate(loaded) for t in range(len(arrays["frames"]) - horizon)]
    if not chosen:
        raise ValueError(f"no episode of {str(dataset.path)!r} is longer than --imagined-horizon {horizon}.")
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(chosen), size=min(len(chosen), max(1, count // horizon)), replace=False)
    starts = [chosen[i] for i in np.sort(picks)]
    sampling = OpenLoopConfig(context=1, horizon=horizon, denoise_steps=config.imagined_denoise_steps,
                              guidance_scale=1.0, batch_size=32, seed=seed)
    arrays = [{"frames": np.asarray(a["frames"]), "actions": np.asarray(a["actions"])} for a in loaded]
    imagined, _ = imagine(folder, arrays, starts, sampling)
    first = np.array([dataset.episodes[number]["start"] for number in episodes])
    labels = np.array([[first[e] + t + 1 + k for k in range(horizon)] for e, t in starts])
    return imagined.reshape(-1, *imagined.shape[2:]), labels.reshape(-1)


def blurred(images: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """[B, C, H, W] images, [B] standard deviations in pixels (0 = unchanged) -> separable Gaussian blur."""
    batch, channels, height, width = images.shape
    radius = 3
    taps = torch.arange(-radius, radius + 1, dtype=images.dtype)
    weights = torch.exp(-0.5 * (taps / sigma.clamp_min(1e-3)[:, None]) ** 2)
    kernel = (weights / weights.sum(dim=1, keepdim=True)).repeat_interleave(channels, dim=0)
    x = images.reshape(1, batch * channels, height, width)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), kernel.view(-1, 1, 1, 2 * radius + 1),
                 groups=batch * channels)
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), kernel.view(-1, 1, 2 * radius + 1, 1),
                 groups=batch * channels)
    return x.reshape(batch, channels, height, width)


def _frames(dataset: EpisodeDataset, indices: np.ndarray) -> torch.Tensor:
    """uint8 frames at sorted global indices (memory-mapped reads go in file order) -> [B, 3, H, W]."""
    return images_to_unit_range(torch.from_numpy(np.ascontiguousarray(dataset.frames[np.sort(indices)])))


def probe_errors(
    probe: StateProbe, dataset: EpisodeDataset, indices: np.ndarray, states: np.ndarray
) -> np.ndarray:
    """[len(indices), S] absolute errors of the probe on those frames against `states` [N, S]: degrees for
    angles (wrapped at +-180 for periodic ones), millimetres for lengths."""
    indices = np.sort(indices)
    errors = []
    with torch.no_grad():
        for chunk in np.array_split(indices, max(1, len(indices) // 512)):
            predicted = probe.joints(_frames(dataset, chunk))
            errors.append(probe.absolute_errors(predicted, torch.from_numpy(states[chunk]).to(predicted)))
    return torch.cat(errors).numpy()


def train_state_probe(
    dataset: EpisodeDataset,
    config: ProbeTrainConfig,
    joint_names: list[str],
    periodic: list[bool] | None = None,
    progress: Callable[[int, float], None] | None = None,
    linear_joints: list[str] | tuple[str, ...] = (),
    folder=None,
) -> tuple[StateProbe, dict]:
    """Fit a probe to the dataset's frames and states (`probe_states`: the joints, and the object's pose
    when the dataset keeps one); returns it with a summary of its held-out error.

    periodic: per joint, whether it turns without limit (default: told from the recorded range, see
    `periodic_joints`; the object's yaw is told the same way). linear_joints: joints that slide (m).
    progress(step, loss) is called every 100 steps and at the end. folder: the world model whose
    imagined frames make `imagined_share` of each batch (see `ProbeTrainConfig`).
    """
    if config.imagined_share > 0 and folder is None:
        raise ValueError("imagined_share > 0 needs the world model that imagines the frames.")
    trained, held_out = probe_frame_split(dataset, config.holdout_episodes)
    names, states, units = probe_states(dataset, list(joint_names), linear_joints)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    told = periodic_joints(states[trained])
    periodic = told if periodic is None else list(periodic) + told[len(joint_names) :]
    probe = StateProbe(joint_names=names, periodic=periodic, image_size=list(dataset.image_size),
                       units=None if set(units) == {"rad"} else units,
                       yaw_pooling=config.yaw_pooling and tuple(names[-3:]) == OBJECT_STATES,
                       input_pooling=config.input_pooling)
    optimizer = torch.optim.AdamW(probe.parameters(), lr=config.learning_rate, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, config.learning_rate, total_steps=config.steps)
    targets = circle_points(torch.from_numpy(states), probe.units)
    started = time.perf_counter()
    pool = held_pool = None
    imagined_count = round(config.batch_size * config.imagined_share)
    if imagined_count:
        count = len(dataset.episodes)
        held_episodes = list(range(count - config.holdout_episodes, count))
        pool = imagined_frames(folder, dataset, list(range(count - config.holdout_episodes)),
                               config.imagined_frames, config, config.seed)
        held_pool = imagined_frames(folder, dataset, held_episodes, min(1024, len(held_out)), config,
                                    config.seed + 1)
    probe.train()
    for step in range(1, config.steps + 1):
        batch = np.sort(rng.choice(trained, size=config.batch_size - imagined_count))
        images = _frames(dataset, batch)
        sigma = torch.rand(len(batch)) * config.max_blur
        noise = torch.rand(len(batch), 1, 1, 1) * config.max_noise
        images = blurred(images, sigma) + torch.randn_like(images) * noise
        labels = targets[batch]
        if imagined_count:  # the model's own renderings, labelled with the state they stand for
            picks = rng.choice(len(pool[0]), size=imagined_count)
            images = torch.cat([images, images_to_unit_range(torch.from_numpy(pool[0][picks]))])
            labels = torch.cat([labels, targets[pool[1][picks]]])
        loss = F.mse_loss(probe(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        if progress is not None and (step % 100 == 0 or step == config.steps):
            progress(step, loss.item())
    probe.eval()
    errors = probe_errors(probe, dataset, held_out, states)
    angular = np.array(probe.units) == "rad"

    def per_state(values: np.ndarray, which: np.ndarray) -> dict[str, float]:
        rounded = np.asarray(values, np.float64).round(2).tolist()
        return {name: value for name, value, keep in zip(names, rounded, which, strict=True) if keep}

    summary = {
        "steps": config.steps,
        "seconds": round(time.perf_counter() - started, 1),
        "train_frames": int(len(trained)),
        "heldout_frames": int(len(held_out)),
        "periodic": dict(zip(names, periodic, strict=True)),
        "heldout_median_error_deg": per_state(np.median(errors, axis=0), angular),
        "heldout_p95_error_deg": per_state(np.quantile(errors, 0.95, axis=0), angular),
    }
    if not angular.all():  # lengths: the sliding joints, the object's position
        summary["heldout_median_error_mm"] = per_state(np.median(errors, axis=0), ~angular)
        summary["heldout_p95_error_mm"] = per_state(np.quantile(errors, 0.95, axis=0), ~angular)
    if held_pool is not None:  # what the planner's cost sees: the state read off imagined frames
        with torch.no_grad():
            read = probe.joints(images_to_unit_range(torch.from_numpy(held_pool[0])))
        imagined = probe.absolute_errors(read, torch.from_numpy(states[held_pool[1]])).numpy()
        summary["imagined_frames"] = int(len(pool[0]))
        summary["heldout_imagined_median_error_deg"] = per_state(np.median(imagined, axis=0), angular)
        if not angular.all():
            summary["heldout_imagined_median_error_mm"] = per_state(np.median(imagined, axis=0), ~angular)
    return probe, summary
