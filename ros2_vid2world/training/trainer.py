"""`train`: stage (a) pre-trains a bidirectional video diffusion base, stage (b) makes it a world model.

Runs under Hugging Face accelerate, so the same code trains on one CPU, one GPU, or many processes
(`accelerate launch`). Batches are drawn from a generator seeded by (seed, stage, step, rank), so a
resumed run sees exactly the batches an uninterrupted one would have.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import torch
from accelerate import Accelerator, DistributedDataParallelKwargs
from diffusers import UNetSpatioTemporalConditionModel
from diffusers.optimization import get_cosine_schedule_with_warmup
from torch.utils.data import ConcatDataset
from tqdm.auto import tqdm

from ..dataset import EpisodeDataset
from ..world_model import causalize
from ..world_model.action_normalization import ActionNormalization
from ..world_model.action_space import DEFAULT_ACTION_SPACE
from ..world_model.base_pipeline import BaseModel, load_base
from ..world_model.diffusion_forcing import diffusion_forcing_loss
from ..world_model.folder import WorldModelFolder
from ..world_model.image_conditioning import ImageConditioning
from ..world_model.latent_codec import LatentCodec
from ..world_model.model import Vid2WorldModel
from ..world_model.presets import PATCH_SIZES, base_unet_from_preset
from .base_diffusion import video_diffusion_loss
from .checkpoint import latest_checkpoint, load_optimizer, load_state, save_checkpoint
from .clips import ClipDataset, VideoClipDataset, split_episodes
from .ema import EMAWeights
from .metrics_log import MetricsLog
from .model_parts import latent_parts, open_latent_cache, parts_conditioner, training_scheduler
from .train_config import TrainConfig

STAGES = ("pretrain", "transfer")
LOGGER = logging.getLogger(__name__)


def train(config: TrainConfig, resume: bool = False, force: bool = False) -> dict:
    """Run (or continue) both stages and write the world-model folder to `config.out`.

    Returns a summary: steps run per stage, final losses, time, paths.
    Raises ValueError on a bad dataset or base, or when `work_dir` holds a run and neither
    `resume` nor `force` is set.
    """
    # cpu=True without a GPU: under `accelerate launch --multi_gpu` that makes a gloo process group.
    accelerator = Accelerator(
        cpu=not torch.cuda.is_available(),
        kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=True)],
    )
    dataset = EpisodeDataset(config.data)
    if dataset.action_dim == 0:
        raise ValueError(
            f"--data {str(config.data)!r} holds no actions (action-free video): pre-train on it with "
            "--pretrain-data; --data needs the actions the world model learns."
        )
    init = _init_folder(config, dataset)
    given_base = load_base(config.base) if config.base is not None else None
    parts = latent_parts(given_base, init, dataset)  # refused before any training, not at the end
    timing = model_timing(dataset, init)
    action_stats = dataset.action_stats if init is None else init.action_stats
    normalization = ActionNormalization.from_stats(action_stats, dataset.action_dim)
    train_episodes, holdout_episodes = split_episodes(dataset, config.holdout_episodes, config.clip_frames)
    latents = None
    if parts:  # built by the main process, opened by all
        if accelerator.is_main_process:
            open_latent_cache(dataset, parts, progress=True)
        accelerator.wait_for_everyone()
        latents = open_latent_cache(dataset, parts)
    clips = ClipDataset(
        dataset, train_episodes, config.clip_frames, normalization, latents=latents,
        turn_oversampling=config.turn_oversampling,
    )
    scheduler = training_scheduler(config, given_base, init)
    checkpoints = config.work_dir / "checkpoints"

    latest = latest_checkpoint(checkpoints)
    if latest is not None and not resume:
        if not force:
            raise ValueError(
                f"{str(config.work_dir)!r} holds a training run (checkpoint {latest.name}): "
                "pass --resume to continue it or --force to start over."
            )
        latest = None
    if latest is not None:
        _check_resumed_settings(config)
    state = load_state(latest) if latest is not None else {"stage": STAGES[0], "step": 0}
    if accelerator.is_main_process:
        config.work_dir.mkdir(parents=True, exist_ok=True)
        (config.work_dir / "train_config.json").write_text(json.dumps(config.to_json(), indent=2) + "\n")
    metrics = MetricsLog(config.work_dir, enabled=accelerator.is_main_process, truncate_after=state)
    summary = {"holdout_episodes": holdout_episodes, "train_clips": len(clips), "stages": {}}
    started = time.perf_counter()

    if state["stage"] == "pretrain":
        if config.base is not None or init is not None or config.pretrain_steps == 0:
            state = {"stage": "transfer", "step": 0}
        else:
            base = _fresh_base(config, dataset) if latest is None else _load_model(latest, "model", base=True)
            ema = EMAWeights(base, config.ema_decay)
            if latest is not None:
                ema.model.load_state_dict(_load_model(latest, "ema", base=True).state_dict())
            base_codec = model_codec(base.config, dataset)

            def pretrain_loss(model, batch, generator):
                return video_diffusion_loss(
                    model, scheduler, base_codec.encode(batch["frames"]), config.prediction_type,
                    generator=generator,
                )

            summary["stages"]["pretrain"] = _run_stage(
                "pretrain", base, ema, pretrain_loss, config.pretrain_steps, config.pretrain_learning_rate,
                config, accelerator, pretrain_clips(config, dataset, clips), checkpoints, metrics, latest,
                state["step"],
            )
            if accelerator.is_main_process:
                ema.model.save_pretrained(config.work_dir / "base", safe_serialization=True)
            accelerator.wait_for_everyone()
            state, latest = {"stage": "transfer", "step": 0}, None
            if config.steps == 0:  # pre-training only: the base is the result
                metrics.close()
                summary.update(seconds=time.perf_counter() - started, out=str(config.work_dir / "base"),
                               work_dir=str(config.work_dir), rank=accelerator.process_index,
                               num_processes=accelerator.num_processes, weights_checksum=_checksum(base))
                return summary

    if latest is None:
        model = _transferred_model(config, dataset, given_base) if init is None else init.model.train()
        ema = EMAWeights(model, config.ema_decay)
    else:
        model = _load_model(latest, "model", base=False)
        ema = EMAWeights(model, config.ema_decay)
        ema.model.load_state_dict(_load_model(latest, "ema", base=False).state_dict())
    df_config = config.diffusion_forcing()
    codec = LatentCodec(parts["vae"]) if parts else model_codec(model.unet.config, dataset)
    conditioner = parts_conditioner(parts, model.config) if model.config.conditioning == "image" else None

    def transfer_loss(model, batch, generator):
        clean = batch["latents"] if "latents" in batch else codec.encode(batch["frames"])
        conditioning = None
        if conditioner is not None:  # SVD's: the clip's first frame, augmented anew at every step
            latent = conditioner.latent(batch["first_frame"], generator)
            conditioning = ImageConditioning(latent, batch["embedding"][:, None])
        return diffusion_forcing_loss(
            model, scheduler, clean, batch["actions"], df_config,
            generator=generator, prediction_type=config.prediction_type, conditioning=conditioning,
        )

    summary["stages"]["transfer"] = _run_stage(
        "transfer", model, ema, transfer_loss, config.steps, config.learning_rate,
        config, accelerator, clips, checkpoints, metrics, latest, state["step"], stop_at=config.stop_at,
    )
    if accelerator.is_main_process:
        WorldModelFolder(
            model=ema.model, scheduler=scheduler, action_stats=action_stats, patch_size=codec.patch_size,
            **timing, **parts,
        ).save(config.out)
    accelerator.wait_for_everyone()
    metrics.close()
    summary.update(
        seconds=time.perf_counter() - started,
        out=str(config.out),
        work_dir=str(config.work_dir),
        rank=accelerator.process_index,
        num_processes=accelerator.num_processes,
        # Every rank holds its own copy of the weights: in a healthy data-parallel run they agree.
        weights_checksum=_checksum(model),
    )
    return summary


def _checksum(model: torch.nn.Module) -> float:
    with torch.no_grad():
        return float(sum(p.double().abs().sum() for p in model.parameters()))


def export_latest(config: TrainConfig) -> dict:
    """Write `config.out` from the newest transfer checkpoint's EMA weights, e.g. while a run goes on.

    Raises ValueError when `work_dir` holds no transfer-stage checkpoint yet.
    """
    latest = latest_checkpoint(config.work_dir / "checkpoints")
    if latest is None or load_state(latest)["stage"] != "transfer":
        raise ValueError(
            f"{str(config.work_dir)!r} holds no transfer-stage checkpoint yet "
            f"(latest: {latest.name if latest else 'none'})."
        )
    dataset = EpisodeDataset(config.data)
    init = _init_folder(config, dataset)
    base = load_base(config.base) if config.base is not None else None
    parts = latent_parts(base, init, dataset)
    model = _load_model(latest, "ema", base=False).eval()
    WorldModelFolder(
        model=model,
        scheduler=training_scheduler(config, base, init),
        action_stats=dataset.action_stats if init is None else init.action_stats,
        patch_size=1 if parts else model_codec(model.unet.config, dataset).patch_size,
        **model_timing(dataset, init),
        **parts,
    ).save(config.out)
    return {"out": str(config.out), "checkpoint": latest.name, "step": load_state(latest)["step"]}


def _run_stage(
    stage, model, ema, loss_fn, total_steps, learning_rate, config, accelerator, clips, checkpoints,
    metrics, latest, start_step, stop_at: int = 0,
) -> dict:
    """The optimisation loop of one stage, from `start_step` to `total_steps` (or `stop_at`, when set:
    the learning-rate schedule stays that of `total_steps`)."""
    last_step = min(stop_at, total_steps) if stop_at else total_steps
    optimizer = torch.optim.AdamW(
        parameter_groups(model, learning_rate, config.action_lr_scale), weight_decay=config.weight_decay
    )
    lr_schedule = get_cosine_schedule_with_warmup(optimizer, config.warmup_steps, total_steps)
    if latest is not None:
        load_optimizer(latest, optimizer, list(model.parameters()))
        lr_schedule.load_state_dict(load_state(latest)["lr_schedule"])
        # One base rate per group, which a schedule saved with fewer groups would not have.
        lr_schedule.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
    model.train()
    wrapped, optimizer = accelerator.prepare(model, optimizer)
    bar = tqdm(
        total=last_step, initial=start_step, desc=stage, disable=not accelerator.is_main_process,
        dynamic_ncols=True,
    )
    losses, window_start, seen = [], time.perf_counter(), 0
    loss = torch.tensor(float("nan"))
    for step in range(start_step, last_step):
        stream = (config.seed * len(STAGES) + STAGES.index(stage)) * 10**9 + step
        generator = torch.Generator().manual_seed(stream * 1024 + accelerator.process_index)
        batch = _batch(clips, config.batch_size, generator, accelerator.device)
        loss = loss_fn(wrapped, batch, generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"{stage} step {step}: the loss is {loss.item()}; lower the learning rate."
            )
        optimizer.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        grad_norm = accelerator.clip_grad_norm_(model.parameters(), config.grad_clip)
        optimizer.step()
        lr_schedule.step()
        ema.update(accelerator.unwrap_model(wrapped), step)
        losses.append(loss.item())
        seen += config.batch_size * accelerator.num_processes
        done = step + 1
        if done % config.log_every == 0 or done == last_step:
            elapsed = time.perf_counter() - window_start
            row = {
                "stage": stage, "step": done, "loss": sum(losses) / len(losses),
                "lr": lr_schedule.get_last_lr()[0], "grad_norm": float(grad_norm),
                "clips_per_s": seen / max(elapsed, 1e-9),
            }
            metrics.write(row)
            bar.set_postfix(loss=f"{row['loss']:.4f}", clips_s=f"{row['clips_per_s']:.1f}")
            losses, window_start, seen = [], time.perf_counter(), 0
        bar.update(1)
        if done % config.checkpoint_every == 0 or done == last_step:
            accelerator.wait_for_everyone()
            if accelerator.is_main_process:
                save_checkpoint(
                    checkpoints, model=accelerator.unwrap_model(wrapped), ema_model=ema.model,
                    optimizer=optimizer,
                    state={"stage": stage, "step": done, "lr_schedule": lr_schedule.state_dict()},
                )
                metrics.flush()
    bar.close()
    return {"steps": last_step, "schedule_steps": total_steps, "started_at": start_step,
            "last_loss": float(loss.item())}


def pretrain_clips(config: TrainConfig, dataset: EpisodeDataset, clips: ClipDataset):
    """Stage (a)'s clips: the training dataset's own, or those of every --pretrain-data dataset (all
    their episodes; `data` counts only when listed), checked to be of the dataset's image size."""
    if not config.pretrain_data:
        return clips
    parts = []
    for path in config.pretrain_data:
        other = EpisodeDataset(path)
        if tuple(other.image_size) != tuple(dataset.image_size):
            raise ValueError(
                f"--pretrain-data {str(path)!r} has {other.image_size[0]}x{other.image_size[1]} frames; "
                f"--data has {dataset.image_size[0]}x{dataset.image_size[1]} (the base's size): rebuild it "
                "at that size."
            )
        same = other.path.resolve() == dataset.path.resolve()
        parts.append(VideoClipDataset(other, config.clip_frames, clips.episodes if same else None))
    return ConcatDataset(parts)


def parameter_groups(model: torch.nn.Module, learning_rate: float, action_lr_scale: float) -> list[dict]:
    """[the rest, the new layers] for a world model (their own learning rate), one group for a base.

    The action embedding (and, in a model with `embedding_scale`, the scale layers) start at zero and
    are the only new parts of the network; the signal that teaches them (how an action moves a thin
    arm) is a small share of the loss, so at the U-Net's learning rate they grow slowly (on the
    reacher: embeddings ~3% of the noise-level embedding's norm after 2,500 steps, and imagined
    frames that ignored the action).
    """
    action = getattr(model, "action_embedding", None)
    if action is None:
        return [{"params": list(model.parameters()), "lr": learning_rate}]
    scales = getattr(model, "embedding_scales", torch.nn.ModuleList())
    new = list(action.parameters()) + list(scales.parameters())
    own = {id(p) for p in new}
    rest = [p for p in model.parameters() if id(p) not in own]
    return [
        {"params": rest, "lr": learning_rate},
        {"params": new, "lr": learning_rate * action_lr_scale},
    ]


def draw_clips(clips, size: int, generator: torch.Generator) -> list[int]:
    """`size` clip indices, drawn with replacement: alike, or as often as `clips.weights` says."""
    weights = getattr(clips, "weights", None)  # pre-training's clips have none
    if weights is None:
        return torch.randint(0, len(clips), (size,), generator=generator).tolist()
    return torch.multinomial(torch.from_numpy(weights), size, replacement=True, generator=generator).tolist()


def _batch(clips: ClipDataset, size: int, generator: torch.Generator, device) -> dict[str, torch.Tensor]:
    items = [clips[i] for i in draw_clips(clips, size, generator)]
    return {key: torch.stack([item[key] for item in items]).to(device) for key in items[0]}


def _fresh_base(config: TrainConfig, dataset: EpisodeDataset) -> UNetSpatioTemporalConditionModel:
    """The preset architecture at the dataset's image size, randomly initialised."""
    base = base_unet_from_preset(config.preset, seed=config.seed)
    patch = PATCH_SIZES[config.preset]
    height, width = dataset.image_size
    if height % patch or width % patch:
        raise ValueError(
            f"--preset {config.preset} works on {patch}x{patch} pixel patches; the dataset's "
            f"{height}x{width} frames do not divide into them."
        )
    height, width = height // patch, width // patch
    overrides = {
        "sample_size": height if height == width else [height, width],
        "num_frames": config.clip_frames,
    }
    return UNetSpatioTemporalConditionModel.from_config({**base.config, **overrides})


def _check_resumed_settings(config: TrainConfig) -> None:
    """Refuse to resume a run with settings other than those it was started with."""
    saved_path = config.work_dir / "train_config.json"
    if not saved_path.is_file():
        return  # a run from before settings were recorded: nothing to compare against
    try:
        saved = json.loads(saved_path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(
            f"{str(saved_path)!r} is not readable JSON ({error}); pass --force to start over."
        ) from None
    mismatches = config.resume_mismatches(saved)
    if mismatches:
        raise ValueError(
            f"{str(config.work_dir)!r} was started with other settings ({'; '.join(mismatches)}): "
            "resume it with the settings it was started with, or pass --force to start over."
        )


def model_timing(dataset: EpisodeDataset, init: WorldModelFolder | None) -> dict:
    """The control period and action space the written model records: the dataset's. A dataset written
    before action spaces were kept takes the --init model's, or the default, with a warning."""
    action_space = dataset.action_space
    if action_space is None:
        action_space = DEFAULT_ACTION_SPACE if init is None else init.action_space
        LOGGER.warning(
            f"dataset {str(dataset.path)!r} records no action_space (written before it was kept): the model "
            f"records {action_space}; rebuild the dataset with `vid2world dataset` to record it."
        )
    elif init is not None and init.action_space != action_space:
        raise ValueError(
            f"the --init model's actions are {init.action_space}; the dataset's are {action_space}."
        )
    return {"control_period": dataset.control_period, "action_space": action_space}


def _init_folder(config: TrainConfig, dataset: EpisodeDataset) -> WorldModelFolder | None:
    """The world model `--init` fine-tunes, checked against the dataset and the run's settings."""
    if config.init is None:
        return None
    folder = WorldModelFolder.load(config.init)
    where = f"--init {str(config.init)!r}"
    model = folder.model.config
    if model.action_dim != dataset.action_dim:
        raise ValueError(f"{where} takes {model.action_dim}-dimensional actions; the dataset "
                         f"{str(config.data)!r} has {dataset.action_dim}.")
    if tuple(folder.image_size) != tuple(dataset.image_size):
        raise ValueError(f"{where} sees {folder.image_size[0]}x{folder.image_size[1]} frames; the dataset "
                         f"has {dataset.image_size[0]}x{dataset.image_size[1]}: rebuild it with "
                         "`vid2world dataset --size`.")
    if model.prediction_type != config.prediction_type:
        raise ValueError(f"{where} predicts {model.prediction_type}; --prediction-type is "
                         f"{config.prediction_type}.")
    if folder.action_stats is None:
        raise ValueError(f"{where} has no action_stats in its vid2world.json: its action units are unknown.")
    if model.max_frames < config.clip_frames:
        folder.model.register_to_config(max_frames=config.clip_frames)  # the window it is now trained on
    if config.embedding_scale:  # added at zero: the model computes what it did until training moves them
        folder.model = folder.model.with_embedding_scale()
    return folder


def _transferred_model(
    config: TrainConfig, dataset: EpisodeDataset, base: BaseModel | None
) -> Vid2WorldModel:
    """Stage (b)'s starting point: the pre-trained (or given) base, causalized with weight transfer."""
    conditioning = "learned"
    if base is not None:
        unet, conditioning = base.unet, base.conditioning
        if base.vae is None:
            model_codec(unet.config, dataset)  # raises when the dataset's frames do not fit the base
    elif config.pretrain_steps > 0:
        unet = UNetSpatioTemporalConditionModel.from_pretrained(
            config.work_dir / "base", use_safetensors=True
        )
    else:
        unet = _fresh_base(config, dataset)
    if base is None:
        model_codec(unet.config, dataset)
    # The world model takes the base's tensors (no second copy: SVD-XT's U-Net alone is 5.7 GiB).
    return causalize(
        unet, action_dim=dataset.action_dim, weight_transfer=config.weight_transfer, copy_weights=False,
        prediction_type=config.prediction_type, max_frames=config.clip_frames, conditioning=conditioning,
        embedding_scale=config.embedding_scale,
    )


def model_codec(unet_config, dataset: EpisodeDataset) -> LatentCodec:
    """The pixel codec mapping the dataset's 3-channel frames onto the U-Net's input: the identity, or
    p x p patches when the U-Net takes 3 p^2 channels at 1/p of the image size.

    Raises ValueError naming both shapes when no patch size fits.
    """
    size = unet_config["sample_size"]
    model_h, model_w = (size, size) if isinstance(size, int) else tuple(size)
    height, width = dataset.image_size
    # Frames go in and predictions come out with out_channels; an image-to-video base takes the
    # conditioning frame in extra input channels on top.
    channels = unet_config["out_channels"]
    patch = height // model_h
    if patch < 1 or (model_h * patch, model_w * patch) != (height, width) or channels != 3 * patch**2:
        raise ValueError(
            f"--base expects {channels}-channel {model_h}x{model_w} frames; the dataset has 3-channel "
            f"{height}x{width} frames, which fold to that only as p x p patches with 3 p^2 = {channels} "
            f"and {model_h}p x {model_w}p = {height}x{width}."
        )
    return LatentCodec(patch_size=patch)


def _load_model(checkpoint: Path, which: str, base: bool):
    cls = UNetSpatioTemporalConditionModel if base else Vid2WorldModel
    return cls.from_pretrained(checkpoint / which, use_safetensors=True)
