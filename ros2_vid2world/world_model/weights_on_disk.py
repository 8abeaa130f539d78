"""Checks on weight files before anything is loaded: safetensors only, never pickles."""

from __future__ import annotations

from pathlib import Path

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def check_safetensors_only(folder: Path) -> None:
    """Raise ValueError unless `folder` holds a config and safetensors weights.

    Pickled weights can run arbitrary code when loaded, so a folder that has only those is refused.
    """
    if not (folder / "config.json").is_file():
        raise ValueError(f"{str(folder)!r} has no config.json: expected a diffusers model folder.")
    if any(folder.glob("*.safetensors")):
        return
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if pickles:
        raise ValueError(
            f"{str(folder)!r} holds pickle weights only ({', '.join(pickles)}); refusing to load "
            "them. Convert them to safetensors first."
        )
    raise ValueError(f"{str(folder)!r} has no *.safetensors weights.")


def weight_variant(folder: Path) -> str | None:
    """The diffusers `variant` to load `folder` with: None when it has plain weights, else the variant
    its only weights carry (`diffusion_pytorch_model.fp16.safetensors`, or the shards listed by
    `diffusion_pytorch_model.safetensors.index.fp16.json` -> "fp16"), as SVD-XT's fp16 download has."""
    names = [p.name for p in folder.iterdir()]
    if any(n.endswith(".safetensors") and n.count(".") == 1 for n in names) or any(
        n.endswith(".safetensors.index.json") for n in names
    ):
        return None
    variants = {n.split(".")[-2] for n in names if n.endswith(".safetensors") and n.count(".") == 2}
    variants |= {n.split(".")[-2] for n in names if ".safetensors.index." in n and n.endswith(".json")}
    return sorted(variants)[0] if variants else None
