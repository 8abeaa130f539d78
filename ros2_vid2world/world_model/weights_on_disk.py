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
