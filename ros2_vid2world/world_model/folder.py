"""A world-model folder: the model, its noise schedule, its autoencoder, and what a planner needs to know.

Layout (every weight in safetensors):
    vid2world.json      manifest: format, image size, action dimension, latent scale, ...
    world_model/        Vid2WorldModel.save_pretrained
    scheduler/          the noise schedule (diffusers scheduler config)
    vae/                optional autoencoder; absent for pixel-space models
    image_encoder/      with feature_extractor/: the CLIP image encoder of a model that keeps Stable
                        Video Diffusion's image conditioning (`conditioning: "image"`)
    state_probe/        optional StateProbe (`vid2world probe`), for the planner's joint-space goal cost

The manifest also records the model's time and actions (`control_period`, `action_space`, see
`action_space.py`): a planner node times and expresses its commands by them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder, SchedulerMixin

from .action_normalization import ActionNormalization
from .action_space import (
    DEFAULT_ACTION_SPACE,
    DEFAULT_CONTROL_PERIOD,
    check_action_space,
    check_control_period,
)
from .image_conditioning import ImageConditioner
from .latent_codec import LatentCodec, is_patch_size
from .model import Vid2WorldModel
from .noise_schedule import SCHEDULERS, check_scheduler
from .state_probe import StateProbe
from .weights_on_disk import check_safetensors_only

FOLDER_FORMAT = "ros2_vid2world/world-model/1"
STATE_PROBE = "state_probe"
MANIFEST = "vid2world.json"
LOGGER = logging.getLogger(__name__)
AUTOENCODERS = {cls.__name__: cls for cls in (AutoencoderKL, AutoencoderKLTemporalDecoder)}


@dataclass
class WorldModelFolder:
    """What `vid2world causalize` and `vid2world train` write and what planners load.

    action_stats: optional per-dimension `mean` and `std` lists used to normalise actions into the
    model's range (written by training from a dataset); `action_normalization` is the object that
    applies them, for training, planning and evaluation alike. patch_size: for pixel-space models, the side
    of the pixel patches folded into channels (see `LatentCodec`). state_probe: reads joint positions
    off the model's camera images (see `StateProbe`); None when the folder has none. control_period:
seconds of the world per model step; action_space: what an action is (`action_space.py`).
    """

    model: Vid2WorldModel
    scheduler: SchedulerMixin
    vae: AutoencoderKL | AutoencoderKLTemporalDecoder | None = None
    action_stats: dict | None = field(default=None)
    patch_size: int = 1
    state_probe: StateProbe | None = None
    control_period: float = DEFAULT_CONTROL_PERIOD
    action_space: str = DEFAULT_ACTION_SPACE
    image_encoder: torch.nn.Module | None = None  # CLIPVisionModelWithProjection, conditioning "image"
    image_mean: list[float] | None = None  # its feature extractor's normalisation
    image_std: list[float] | None = None

    def __post_init__(self):
        self.control_period = check_control_period(self.control_period)
        self.action_space = check_action_space(self.action_space)
        self._codec = LatentCodec(self.vae, self.patch_size)  # validates the pair
        image = self.model.config.conditioning == "image"
        if image and (self.vae is None or self.image_encoder is None or self.image_mean is None):
            raise ValueError(
                "a world model with conditioning 'image' needs its vae, image_encoder and image_mean/std."
            )
        if not image and self.image_encoder is not None:
            raise ValueError("an image_encoder is only used by world models with conditioning 'image'.")
        self.action_normalization  # noqa: B018 - validates action_stats against the model
        if self.state_probe is not None:
            check_probe_image_size(self.state_probe, self.image_size)

    @property
    def codec(self) -> LatentCodec:
        return self._codec

    @property
    def conditioner(self) -> ImageConditioner | None:
        """Frames -> the model's image conditioning (None for models that learn their own)."""
        if self.model.config.conditioning != "image":
            return None
        noise_aug = self.model.config.added_time_ids[-1]  # SVD passes one value to both
        return ImageConditioner(self.vae, self.image_encoder, self.image_mean, self.image_std, noise_aug)

    @property
    def action_normalization(self) -> ActionNormalization:
        """Robot-unit actions <-> the model's units (identity for a folder without `action_stats`)."""
        return ActionNormalization.from_stats(self.action_stats, self.model.config.action_dim)

    @property
    def image_size(self) -> tuple[int, int]:
        """(height, width) of the camera images the model expects."""
        size = self.model.unet.config.sample_size
        height, width = (size, size) if isinstance(size, int) else size
        factor = self.codec.spatial_factor
        return height * factor, width * factor

    def manifest(self) -> dict:
        return {
            "format": FOLDER_FORMAT,
            "action_dim": self.model.config.action_dim,
            "image_size": list(self.image_size),
            "latent_channels": self.model.sample_channels,
            "latent_scale": self.codec.scaling_factor,
            "autoencoder": None if self.vae is None else type(self.vae).__name__,
            "patch_size": self.patch_size,
            "prediction_type": self.model.config.prediction_type,
            "max_frames": self.model.config.max_frames,
            "action_stats": self.action_stats,
            "control_period": self.control_period,
            "action_space": self.action_space,
            "conditioning": self.model.config.conditioning,
            "scheduler": type(self.scheduler).__name__,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the folder atomically: a crash leaves either the old folder or the new one, never half."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            self.model.save_pretrained(staging / "world_model", safe_serialization=True)
            self.scheduler.save_pretrained(staging / "scheduler")
            if self.vae is not None:
                self.vae.save_pretrained(staging / "vae", safe_serialization=True)
            if self.image_encoder is not None:
                self._save_image_encoder(staging)
            if self.state_probe is not None:
                self.state_probe.save_pretrained(staging / STATE_PROBE, safe_serialization=True)
            (staging / MANIFEST).write_text(json.dumps(self.manifest(), indent=2) + "\n")
            replace_folder(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return path

    def _save_image_encoder(self, staging: Path) -> None:
        try:  # transformers 5 without torchvision: the PIL processor (the same config, no warning)
            from transformers import CLIPImageProcessorPil as CLIPImageProcessor
        except ImportError:
            from transformers import CLIPImageProcessor

        self.image_encoder.save_pretrained(staging / "image_encoder", safe_serialization=True)
        # The feature extractor's only part a world model uses is its normalisation (the resize to
        # 224 x 224 is diffusers' own); written as a CLIP processor so other tools can read it.
        processor = CLIPImageProcessor(
            image_mean=self.image_mean, image_std=self.image_std, crop_size=224, size={"shortest_edge": 224}
        )
        processor.save_pretrained(staging / "feature_extractor")

    @classmethod
    def load(
        cls, path: str | os.PathLike, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
    ) -> WorldModelFolder:
        """Load a folder written by `save`; raises ValueError naming what is missing or inconsistent."""
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"model folder {str(path)!r} does not exist or is not a folder.")
        manifest_path = path / MANIFEST
        if not manifest_path.is_file():
            raise ValueError(
                f"{str(path)!r} is not a world-model folder: no {MANIFEST} "
                "(create one with `vid2world causalize` or `vid2world train`)."
            )
        try:
            manifest = json.loads(manifest_path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{manifest_path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
        if manifest.get("format") != FOLDER_FORMAT:
            raise ValueError(
                f"{manifest_path}: format must be {FOLDER_FORMAT!r}. Got {manifest.get('format')!r}."
            )
        check_safetensors_only(path / "world_model")
        model = Vid2WorldModel.from_pretrained(path / "world_model", use_safetensors=True)
        scheduler = load_scheduler(path / "scheduler", model.config.prediction_type)
        vae = None
        if manifest.get("autoencoder") is not None:
            name = manifest["autoencoder"]
            if name not in AUTOENCODERS:
                raise ValueError(
                    f"{manifest_path}: autoencoder must be one of {sorted(AUTOENCODERS)}. Got {name!r}."
                )
            check_safetensors_only(path / "vae")
            vae = AUTOENCODERS[name].from_pretrained(path / "vae", use_safetensors=True)
            vae = _moved(vae, device, dtype).eval()
        patch_size = manifest.get("patch_size", 1)  # absent in folders written before patches existed
        if not is_patch_size(patch_size):
            raise ValueError(f"{manifest_path}: patch_size must be an integer >= 1. Got {patch_size!r}.")
        state_probe = load_state_probe(path, device, dtype) if (path / STATE_PROBE).is_dir() else None
        image = {}
        if model.config.conditioning == "image":
            image = _load_image_encoder(path, device, dtype)
        missing = [key for key in ("control_period", "action_space") if key not in manifest]
        if missing:
            LOGGER.warning(
                f"{manifest_path} records no {' or '.join(missing)} (written before they were kept): "
                f"assuming {DEFAULT_CONTROL_PERIOD} s per step and {DEFAULT_ACTION_SPACE} actions."
            )
        try:
            period = check_control_period(manifest.get("control_period", DEFAULT_CONTROL_PERIOD))
            timing = {
                "control_period": period,
                "action_space": check_action_space(manifest.get("action_space", DEFAULT_ACTION_SPACE)),
            }
        except ValueError as exc:
            raise ValueError(f"{manifest_path}: {exc}") from None
        folder = cls(
            model=_moved(model, device, dtype).eval(),
            scheduler=scheduler,
            vae=vae,
            action_stats=manifest.get("action_stats"),
            patch_size=patch_size,
            state_probe=state_probe,
            **timing,
            **image,
        )
        for key in ("action_dim", "image_size", "latent_channels", "prediction_type", "max_frames"):
            if folder.manifest()[key] != manifest.get(key):
                raise ValueError(
                    f"{manifest_path}: {key} is {manifest.get(key)!r} but the weights say "
                    f"{folder.manifest()[key]!r}."
                )
        return folder


def load_scheduler(path: Path, prediction_type: str) -> SchedulerMixin:
    """The noise schedule saved in `path` (DDIM, or SVD's continuous Euler), checked against the model."""
    config_path = path / "scheduler_config.json"
    try:
        name = json.loads(config_path.read_text()).get("_class_name")
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{config_path}: cannot be read ({exc}).") from None
    if name not in SCHEDULERS:
        raise ValueError(f"{config_path}: _class_name must be one of {sorted(SCHEDULERS)}. Got {name!r}.")
    scheduler = SCHEDULERS[name].from_pretrained(path)
    try:
        check_scheduler(scheduler, prediction_type)
    except ValueError as exc:
        raise ValueError(f"{config_path}: {exc}") from None
    return scheduler


def _load_image_encoder(path: Path, device, dtype: torch.dtype) -> dict:
    """image_encoder/ and feature_extractor/'s normalisation of a conditioning 'image' model folder."""
    from transformers import CLIPVisionModelWithProjection

    for part in ("image_encoder", "feature_extractor"):
        if not (path / part).is_dir():
            raise ValueError(f"{str(path)!r}: a model with conditioning 'image' needs {part}/; it has none.")
    check_safetensors_only(path / "image_encoder")
    encoder = CLIPVisionModelWithProjection.from_pretrained(path / "image_encoder", use_safetensors=True)
    settings = json.loads((path / "feature_extractor" / "preprocessor_config.json").read_text())
    return {
        "image_encoder": _moved(encoder, device, dtype).eval(),
        "image_mean": settings["image_mean"],
        "image_std": settings["image_std"],
    }


def check_probe_image_size(probe: StateProbe, image_size: tuple[int, int]) -> None:
    """ValueError unless the probe reads images of the model's size (it scores the model's frames)."""
    probe_size = tuple(probe.config.image_size)
    if probe_size != tuple(image_size):
        raise ValueError(
            f"the state probe reads {probe_size[0]}x{probe_size[1]} images; the world model's are "
            f"{image_size[0]}x{image_size[1]}: train the probe on a dataset of the model's size."
        )


def load_state_probe(
    path: str | os.PathLike, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> StateProbe:
    """The state probe of the world-model folder at `path` (ValueError when it has none)."""
    probe_path = Path(path) / STATE_PROBE
    if not probe_path.is_dir():
        raise ValueError(f"{str(path)!r} has no {STATE_PROBE}/: train one with `vid2world probe`.")
    check_safetensors_only(probe_path)
    return _moved(StateProbe.from_pretrained(probe_path, use_safetensors=True), device, dtype).eval()


def save_state_probe(path: str | os.PathLike, probe: StateProbe) -> Path:
    """Add (or replace) the state probe of the world-model folder at `path`, atomically.

    The model itself is not rewritten: only `state_probe/` is staged beside it and renamed into place.
    """
    path = Path(path)
    if not (path / MANIFEST).is_file():
        raise ValueError(
            f"{str(path)!r} is not a world-model folder: no {MANIFEST} "
            "(create one with `vid2world causalize` or `vid2world train`)."
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{STATE_PROBE}.", dir=path))
    try:
        # Written one level down: mkdtemp's folder is private (0700), the probe must be readable like
        # the rest of the model (an installed share/ folder, another user's planner).
        probe.save_pretrained(staging / STATE_PROBE, safe_serialization=True)
        for file in (staging / STATE_PROBE).iterdir():
            file.chmod(0o644)
        replace_folder(staging / STATE_PROBE, path / STATE_PROBE)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path / STATE_PROBE


def _moved(model, device, dtype: torch.dtype):
    """The model on `device` in `dtype`; a dtype cast only when one is needed (diffusers warns on every
    `to(dtype)` call, and the message would reach users of every command that loads a model)."""
    model = model.to(device)
    return model if dtype == torch.float32 else model.to(dtype)


def replace_folder(staging: Path, target: Path) -> None:
    """Move a finished folder into place, replacing an older one with two renames."""
    if not target.exists():
        os.replace(staging, target)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, retired / target.name)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)
