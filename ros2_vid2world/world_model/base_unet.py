"""Load the pre-trained video U-Net (and its autoencoder, if any) that a world model is made from."""

from __future__ import annotations

import json
from pathlib import Path

from diffusers import AutoencoderKL, AutoencoderKLTemporalDecoder, UNetSpatioTemporalConditionModel

from .causal_unet import SUPPORTED_BASES
from .weights_on_disk import check_safetensors_only

BASE_CLASSES = {cls.__name__: cls for cls in SUPPORTED_BASES}
AUTOENCODER_CLASSES = {cls.__name__: cls for cls in (AutoencoderKL, AutoencoderKLTemporalDecoder)}


def load_base(path: str | Path) -> tuple[UNetSpatioTemporalConditionModel, AutoencoderKL | None]:
    """Load a base from a U-Net folder, or from a pipeline folder with `unet/` (and optionally `vae/`).

    Raises:
        ValueError: the folder is missing, holds no supported U-Net, or has pickle weights only.
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"--base {str(path)!r} does not exist or is not a folder.")
    unet_dir = path / "unet" if (path / "model_index.json").is_file() else path
    unet_class = _class_name(unet_dir)
    if unet_class not in BASE_CLASSES:
        raise ValueError(
            f"--base {str(path)!r}: expected a U-Net of class {sorted(BASE_CLASSES)}. Got {unet_class!r}."
        )
    check_safetensors_only(unet_dir)
    unet = BASE_CLASSES[unet_class].from_pretrained(unet_dir, use_safetensors=True)
    vae = None
    vae_dir = path / "vae"
    if unet_dir != path and vae_dir.is_dir():
        vae_class = _class_name(vae_dir)
        if vae_class not in AUTOENCODER_CLASSES:
            raise ValueError(
                f"--base {str(path)!r}: vae/ must hold one of {sorted(AUTOENCODER_CLASSES)}. "
                f"Got {vae_class!r}."
            )
        check_safetensors_only(vae_dir)
        vae = AUTOENCODER_CLASSES[vae_class].from_pretrained(vae_dir, use_safetensors=True)
    return unet, vae


def _class_name(folder: Path) -> str | None:
    config = folder / "config.json"
    if not config.is_file():
        raise ValueError(
            f"{str(folder)!r} has no config.json: expected a diffusers U-Net folder "
            "(or a pipeline folder with unet/)."
        )
    try:
        return json.loads(config.read_text()).get("_class_name")
    except json.JSONDecodeError as exc:
        raise ValueError(f"{config}: not valid JSON ({exc.msg}, line {exc.lineno}).") from None
