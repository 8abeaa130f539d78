"""Load the pre-trained video model a world model is made from: a U-Net folder, or a diffusers pipeline
folder such as Stable Video Diffusion's (unet/, vae/, image_encoder/, feature_extractor/, scheduler/).

What labs have on disk is loaded as it is: weights in safetensors only (pickles are refused, they can
run code), `*.fp16.safetensors` variants when those are the only weights (SVD-XT's fp16 download),
upcast to float32 for training and CPU inference. Every part is checked against the U-Net before
anything is built from it, so a mismatched folder is one line naming the parts and their sizes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    AutoencoderKLTemporalDecoder,
    EulerDiscreteScheduler,
    SchedulerMixin,
    UNetSpatioTemporalConditionModel,
)

from .causal_unet import SUPPORTED_BASES
from .noise_schedule import check_scheduler
from .weights_on_disk import check_safetensors_only, weight_variant

BASE_CLASSES = {cls.__name__: cls for cls in SUPPORTED_BASES}
AUTOENCODER_CLASSES = {cls.__name__: cls for cls in (AutoencoderKL, AutoencoderKLTemporalDecoder)}


@dataclass
class BaseModel:
    """The parts of a pre-trained base. Only `unet` is always there.

    vae: the autoencoder of a latent-space base; image_encoder, image_mean, image_std: its CLIP image
    encoder and the normalisation of its feature extractor (image-to-video bases like SVD);
    scheduler: the base's own noise schedule when it is SVD's continuous EDM one (None: the world
    model gets this project's DDIM schedule).
    """

    unet: UNetSpatioTemporalConditionModel
    vae: AutoencoderKL | AutoencoderKLTemporalDecoder | None = None
    image_encoder: torch.nn.Module | None = None
    image_mean: list[float] | None = None
    image_std: list[float] | None = None
    scheduler: SchedulerMixin | None = None

    @property
    def conditioning(self) -> str:
        """"image" for a base with its own image conditioning (CLIP encoder), else "learned"."""
        return "image" if self.image_encoder is not None else "learned"


def load_base(path: str | Path) -> BaseModel:
    """Load a base from a U-Net folder, or from a pipeline folder (model_index.json) with unet/ and,
    as it has them, vae/, image_encoder/ + feature_extractor/ and scheduler/.

    Raises:
        ValueError: one line naming what is missing, refused or mismatched.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"--base {str(path)!r} does not exist or is not a folder.")
    pipeline = (path / "model_index.json").is_file()
    if not pipeline:
        return BaseModel(unet=_load_unet(path, path))
    index = _read_json(path / "model_index.json")
    listed = {name for name, value in index.items() if isinstance(value, list) and value[-1] is not None}
    for part in ("unet", *sorted(listed & {"vae", "image_encoder", "feature_extractor"})):
        if not (path / part).is_dir():
            raise ValueError(f"--base {str(path)!r}: model_index.json lists {part}/ but the folder has none.")
    unet = _load_unet(path, path / "unet")
    base = BaseModel(unet=unet)
    if (path / "vae").is_dir():
        base.vae = _load_vae(path, unet)
    elif unet.config.in_channels == 2 * unet.config.out_channels and "image_encoder" in listed:
        raise ValueError(f"--base {str(path)!r}: an image-to-video pipeline needs its vae/; it has none.")
    if (path / "image_encoder").is_dir():
        if base.vae is None:
            raise ValueError(f"--base {str(path)!r}: image_encoder/ without vae/ cannot condition on images.")
        base.image_encoder, base.image_mean, base.image_std = _load_image_encoder(path, unet)
    if (path / "scheduler" / "scheduler_config.json").is_file():
        base.scheduler = _own_scheduler(path)
    return base


def _load_unet(path: Path, folder: Path) -> UNetSpatioTemporalConditionModel:
    unet_class = _class_name(folder)
    if unet_class not in BASE_CLASSES:
        raise ValueError(
            f"--base {str(path)!r}: expected a U-Net of class {sorted(BASE_CLASSES)}. Got {unet_class!r}."
        )
    return _from_pretrained(BASE_CLASSES[unet_class], folder)


def _load_vae(path: Path, unet) -> AutoencoderKL | AutoencoderKLTemporalDecoder:
    vae_class = _class_name(path / "vae")
    if vae_class not in AUTOENCODER_CLASSES:
        raise ValueError(
            f"--base {str(path)!r}: vae/ must hold one of {sorted(AUTOENCODER_CLASSES)}. Got {vae_class!r}."
        )
    vae = _from_pretrained(AUTOENCODER_CLASSES[vae_class], path / "vae")
    if vae.config.latent_channels != unet.config.out_channels:
        raise ValueError(
            f"--base {str(path)!r}: vae/ makes {vae.config.latent_channels}-channel latents; the U-Net "
            f"denoises {unet.config.out_channels}-channel ones."
        )
    return vae


def _load_image_encoder(path: Path, unet) -> tuple[torch.nn.Module, list[float], list[float]]:
    from transformers import CLIPVisionModelWithProjection

    folder = path / "image_encoder"
    check_safetensors_only(folder)
    encoder = CLIPVisionModelWithProjection.from_pretrained(
        folder, use_safetensors=True, variant=weight_variant(folder), dtype=torch.float32
    ).eval()
    if encoder.config.projection_dim != unet.config.cross_attention_dim:
        raise ValueError(
            f"--base {str(path)!r}: image_encoder/ projects to {encoder.config.projection_dim} values; the "
            f"U-Net's cross-attention takes {unet.config.cross_attention_dim}."
        )
    processor = path / "feature_extractor" / "preprocessor_config.json"
    if not processor.is_file():
        raise ValueError(
            f"--base {str(path)!r}: image_encoder/ needs feature_extractor/preprocessor_config.json."
        )
    settings = _read_json(processor)
    mean, std = settings.get("image_mean"), settings.get("image_std")
    if not (_three_numbers(mean) and _three_numbers(std)) or min(std) <= 0:
        raise ValueError(
            f"{processor}: image_mean and image_std must be 3 numbers (std > 0). Got {mean}, {std}."
        )
    return encoder, [float(m) for m in mean], [float(s) for s in std]


def _own_scheduler(path: Path) -> SchedulerMixin | None:
    """The base's scheduler when it is SVD's continuous EDM one, which its U-Net was trained with."""
    config = _read_json(path / "scheduler" / "scheduler_config.json")
    if config.get("_class_name") != "EulerDiscreteScheduler" or config.get("timestep_type") != "continuous":
        return None
    scheduler = EulerDiscreteScheduler.from_pretrained(path / "scheduler")
    try:
        check_scheduler(scheduler, "v_prediction")
    except ValueError as exc:
        raise ValueError(f"--base {str(path)!r}: scheduler/: {exc}") from None
    return scheduler


def _from_pretrained(cls, folder: Path):
    check_safetensors_only(folder)
    # Half-precision files (the fp16 variant) are upcast: CPU training and inference run in float32.
    return cls.from_pretrained(
        folder, use_safetensors=True, variant=weight_variant(folder), torch_dtype=torch.float32
    ).eval()


def _three_numbers(values) -> bool:
    return isinstance(values, list) and len(values) == 3 and all(isinstance(v, (int, float)) for v in values)


def _class_name(folder: Path) -> str | None:
    config = folder / "config.json"
    if not config.is_file():
        raise ValueError(
            f"{str(folder)!r} has no config.json: expected a diffusers U-Net folder "
            "(or a pipeline folder with unet/)."
        )
    return _read_json(config).get("_class_name")


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
