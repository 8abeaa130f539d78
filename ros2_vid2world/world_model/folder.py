"""A world-model folder: the model, its noise schedule, its autoencoder, and what a planner needs to know.

Layout (every weight in safetensors):
    vid2world.json      manifest: format, image size, action dimension, latent scale, ...
    world_model/        Vid2WorldModel.save_pretrained
    scheduler/          the noise schedule (diffusers scheduler config)
    vae/                optional autoencoder; absent for pixel-space models
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder, DDIMScheduler, SchedulerMixin

from .latent_codec import LatentCodec, is_patch_size
from .model import Vid2WorldModel
from .weights_on_disk import check_safetensors_only

FOLDER_FORMAT = "ros2_vid2world/world-model/1"
MANIFEST = "vid2world.json"
AUTOENCODERS = {cls.__name__: cls for cls in (AutoencoderKL, AutoencoderKLTemporalDecoder)}


@dataclass
class WorldModelFolder:
    """What `vid2world causalize` and `vid2world train` write and what planners load.

    action_stats: optional per-dimension `mean` and `std` lists used to normalise actions into the
    model's range (written by training from a dataset). patch_size: for pixel-space models, the side
    of the pixel patches folded into channels (see `LatentCodec`).
    """

    model: Vid2WorldModel
    scheduler: SchedulerMixin
    vae: AutoencoderKL | AutoencoderKLTemporalDecoder | None = None
    action_stats: dict | None = field(default=None)
    patch_size: int = 1

    def __post_init__(self):
        self._codec = LatentCodec(self.vae, self.patch_size)  # validates the pair

    @property
    def codec(self) -> LatentCodec:
        return self._codec

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
            (staging / MANIFEST).write_text(json.dumps(self.manifest(), indent=2) + "\n")
            replace_folder(staging, path)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return path

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
        scheduler = DDIMScheduler.from_pretrained(path / "scheduler")
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
        folder = cls(
            model=_moved(model, device, dtype).eval(),
            scheduler=scheduler,
            vae=vae,
            action_stats=manifest.get("action_stats"),
            patch_size=patch_size,
        )
        for key in ("action_dim", "image_size", "latent_channels", "prediction_type", "max_frames"):
            if folder.manifest()[key] != manifest.get(key):
                raise ValueError(
                    f"{manifest_path}: {key} is {manifest.get(key)!r} but the weights say "
                    f"{folder.manifest()[key]!r}."
                )
        return folder


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
