"""A pixel-space world model moved to larger images with the same grid: weight transfer across resolutions.

A model that sees H x W images as patches of p x p pixels works on an (H/p) x (W/p) grid. The same
network on images `factor` times larger, in patches of p * factor pixels, works on the same grid at
the same cost per layer; only its first and last convolutions change width (3 p^2 channels per frame
become 3 (p factor)^2). Those two are transferred so that, before any training, the new model computes
exactly what the old one computed on the image averaged down by `factor` (every finer pixel of a
coarse pixel shares its input weight / factor^2; every finer output pixel repeats its coarse one).
Training at the larger size then starts from what the model already knows about the scene's
dynamics, as Vid2World starts a causal model from a bidirectional one, instead of from nothing.
"""

from __future__ import annotations

import torch

from .folder import WorldModelFolder
from .model import Vid2WorldModel


def coarse_channel_of(patch_size: int, factor: int) -> torch.Tensor:
    """For each channel of a (patch_size * factor)-pixel patch, the channel of the patch_size-pixel patch
    whose pixel covers it ([3 (p f)^2] indices into 3 p^2; pixel_unshuffle's order: colour, row, column)."""
    fine = patch_size * factor
    colour, row, column = torch.meshgrid(
        torch.arange(3), torch.arange(fine), torch.arange(fine), indexing="ij"
    )
    return (colour * patch_size**2 + (row // factor) * patch_size + column // factor).flatten()


def finer_patches(folder: WorldModelFolder, factor: int) -> WorldModelFolder:
    """The pixel-space `folder`'s model on images `factor` times larger, in patches `factor` times wider.

    Its output on an image equals the old model's on that image average-pooled by `factor`, repeated over
    each factor x factor block (see the module doc). The state probe, when there is one, reads the larger
    images average-pooled by `factor` (`StateProbe.with_input_pooling`), so it reads what it read.
    """
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 2:
        raise ValueError(f"`factor` must be an integer >= 2. Got {factor!r}.")
    if folder.vae is not None:
        raise ValueError("finer patches are for pixel-space models; this one works on autoencoder latents.")
    old = folder.model
    unet_config = dict(old.config.unet_config)
    frame_channels = 3 * folder.patch_size**2
    if unet_config["out_channels"] != frame_channels or unet_config["in_channels"] % frame_channels:
        raise ValueError(
            f"the model's U-Net takes {unet_config['in_channels']} and gives {unet_config['out_channels']} "
            f"channels; patches of {folder.patch_size} pixels need multiples of {frame_channels}."
        )
    groups = unet_config["in_channels"] // frame_channels  # 2 for image-to-video: the frame and the first
    unet_config["in_channels"] *= factor**2
    unet_config["out_channels"] *= factor**2
    config = {key: value for key, value in old.config.items() if not key.startswith("_")}
    model = Vid2WorldModel(**{**config, "unet_config": unet_config})

    source = coarse_channel_of(folder.patch_size, factor)
    state = old.state_dict()
    conv_in = state.pop("unet.conv_in.weight")
    inputs = torch.cat([source + group * frame_channels for group in range(groups)])
    state["unet.conv_in.weight"] = conv_in[:, inputs] / factor**2
    state["unet.conv_out.weight"] = state.pop("unet.conv_out.weight")[source]
    state["unet.conv_out.bias"] = state.pop("unet.conv_out.bias")[source]
    model.load_state_dict(state, strict=True)
    model = model.to(old.device).train(old.training)
    if model.dtype != old.dtype:
        model = model.to(dtype=old.dtype)
    probe = folder.state_probe
    return WorldModelFolder(
        model=model,
        scheduler=folder.scheduler,
        action_stats=folder.action_stats,
        patch_size=folder.patch_size * factor,
        state_probe=None if probe is None else probe.with_input_pooling(factor),
        control_period=folder.control_period,
        action_space=folder.action_space,
    )

