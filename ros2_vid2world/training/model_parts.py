"""What a training run takes from its base or --init model besides the U-Net: the noise schedule, and
for latent-space models the autoencoder, the image encoder and the dataset encoded once by them."""

from __future__ import annotations

from ..dataset import EpisodeDataset
from ..world_model.base_pipeline import BaseModel
from ..world_model.folder import WorldModelFolder
from ..world_model.image_conditioning import ImageConditioner
from ..world_model.latent_codec import LatentCodec
from ..world_model.noise_schedule import make_scheduler
from .latent_cache import LatentCache
from .train_config import TrainConfig


def training_scheduler(config: TrainConfig, base: BaseModel | None, init: WorldModelFolder | None):
    """The noise schedule trained with: an --init model's, a base's own (SVD's continuous EDM one), or
    DDIM (v-prediction with zero terminal SNR, Vid2World's released config; epsilon cannot have it)."""
    own = init.scheduler if init is not None else (base.scheduler if base is not None else None)
    if own is None:
        zero_snr = config.prediction_type == "v_prediction"
        return make_scheduler(config.prediction_type, rescale_betas_zero_snr=zero_snr)
    if own.config.prediction_type != config.prediction_type:
        where = "--init model" if init is not None else "--base"
        raise ValueError(
            f"the {where}'s scheduler predicts {own.config.prediction_type}; --prediction-type is "
            f"{config.prediction_type}."
        )
    return own


def latent_parts(base: BaseModel | None, init: WorldModelFolder | None, dataset: EpisodeDataset) -> dict:
    """The autoencoder (and image encoder) a latent-space model trains and is saved with: the base's
    or the --init folder's; {} for pixel-space models. Checks that the dataset's frames fit the VAE."""
    source = init if init is not None else base
    if source is None or source.vae is None:
        return {}
    parts = {"vae": source.vae}
    if source.image_encoder is not None:
        parts.update(
            image_encoder=source.image_encoder, image_mean=source.image_mean, image_std=source.image_std
        )
    if base is not None:
        factor = LatentCodec(base.vae).spatial_factor
        size = base.unet.config.sample_size
        height, width = (size, size) if isinstance(size, int) else tuple(size)
        expected = (height * factor, width * factor)
        if tuple(dataset.image_size) != expected:
            raise ValueError(
                f"--base works on {expected[0]}x{expected[1]} frames (its {height}x{width} latents); the "
                f"dataset {str(dataset.path)!r} has {dataset.image_size[0]}x{dataset.image_size[1]}: rebuild "
                f"it with `vid2world dataset --size {expected[0]}x{expected[1]}`."
            )
    return parts


def parts_conditioner(parts: dict, model_config=None) -> ImageConditioner | None:
    """The image conditioner of `parts` (None without an image encoder); its noise augmentation is the
    model's (the last added time id, as SVD passes one value to both), 0 without a model."""
    if "image_encoder" not in parts:
        return None
    noise_aug = model_config.added_time_ids[-1] if model_config is not None else 0.0
    encoder, mean, std = parts["image_encoder"], parts["image_mean"], parts["image_std"]
    return ImageConditioner(parts["vae"], encoder, mean, std, noise_aug)


def open_latent_cache(dataset: EpisodeDataset, parts: dict, progress: bool = False) -> LatentCache:
    """The dataset's frames encoded by the parts' VAE (and CLIP embeddings), built when missing."""
    return LatentCache.build(dataset, LatentCodec(parts["vae"]), parts_conditioner(parts), progress)
