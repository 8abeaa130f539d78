"""A dataset's frames encoded once by a base's autoencoder (and CLIP image encoder), kept beside it.

A latent-space world model (Stable Video Diffusion's) trains on VAE latents. Encoding every clip at
every step would cost more than the model's own step on a CPU, so each frame is encoded once, to the
VAE's latent mode times its scaling factor (deterministic, as the planner encodes camera frames), with
its CLIP image embedding when the base conditions on images.

Layout: `<dataset>.latents/<key>/` beside the dataset folder, where `key` is a digest of the encoders'
weights, so another base never reads these latents. `latents.npy` float32 [N, C, h, w] and, for
image-conditioned bases, `embeddings.npy` float32 [N, D]; `cache.json` says what made them. Written
through a staging folder in chunks whose progress is recorded: an interrupted encoding resumes where it
stopped, and the folder appears under its name only when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..dataset import EpisodeDataset
from ..dataset.store import raw_to_npy
from ..world_model.latent_codec import LatentCodec, images_to_unit_range

CACHE_FORMAT = "ros2_vid2world/latent-cache/1"
CHUNK = 16  # frames encoded per call


def weights_digest(*modules: torch.nn.Module | None) -> str:
    """A digest of the modules' parameters and buffers (names, shapes and values)."""
    digest = hashlib.sha256()
    for module in modules:
        if module is None:
            continue
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(str(tuple(tensor.shape)).encode())
            digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


class LatentCache:
    """The encoded frames of `dataset` for one codec (and image conditioner), memory-mapped."""

    def __init__(self, path: Path):
        self.path = path
        self.latents = np.load(path / "latents.npy", mmap_mode="r")
        embeddings = path / "embeddings.npy"
        self.embeddings = np.load(embeddings, mmap_mode="r") if embeddings.is_file() else None

    @classmethod
    def build(
        cls,
        dataset: EpisodeDataset,
        codec: LatentCodec,
        conditioner=None,
        progress: bool = False,
    ) -> LatentCache:
        """The cache of `dataset` for `codec` (a VAE codec) and `conditioner` (its CLIP embeddings, or
        None): opened if complete, else encoded (resuming a partial run)."""
        if codec.vae is None:
            raise ValueError("a latent cache needs an autoencoder (pixel-space models train on frames).")
        encoder = None if conditioner is None else conditioner.image_encoder
        key = weights_digest(codec.vae, encoder)
        root = dataset.path.parent / f"{dataset.path.name}.latents"
        final = root / key
        if (final / "cache.json").is_file():
            return cls(final)
        staging = root / f".{key}.partial"
        staging.mkdir(parents=True, exist_ok=True)
        _encode_into(staging, dataset, codec, conditioner, progress)
        (staging / "cache.json").write_text(json.dumps({
            "format": CACHE_FORMAT, "dataset": str(dataset.path), "frames": int(len(dataset.frames)),
            "autoencoder": type(codec.vae).__name__, "scaling_factor": codec.scaling_factor,
            "image_embeddings": conditioner is not None, "key": key,
        }, indent=2) + "\n")  # fmt: skip
        os.replace(staging, final)
        return cls(final)


def _encode_into(staging: Path, dataset: EpisodeDataset, codec: LatentCodec, conditioner, progress: bool):
    """Encode the frames not yet in `staging` (progress.json counts the finished ones), then add the
    .npy headers. Each step can be interrupted and run again."""
    total = len(dataset.frames)
    names = ["latents"] + (["embeddings"] if conditioner is not None else [])
    raws = {name: staging / f"{name}.raw" for name in names}
    progress_file = staging / "progress.json"
    state = json.loads(progress_file.read_text()) if progress_file.is_file() else {"frames": 0, "shapes": {}}
    done, shapes = state["frames"], state["shapes"]
    if done < total:
        if done and not all(raw.is_file() for raw in raws.values()):
            done, shapes = 0, {}  # an inconsistent leftover: start again
        files = {name: open(raw, "r+b" if done else "wb") for name, raw in raws.items()}
        try:
            for name, handle in files.items():  # drop anything written after the last recorded chunk
                handle.truncate(done * int(np.prod(shapes.get(name, [0]))) * 4)
                handle.seek(0, 2)
            bar = tqdm(total=total, initial=done, desc="encoding latents", unit="frame", disable=not progress)
            for start in range(done, total, CHUNK):
                frames = np.array(dataset.frames[start : start + CHUNK])
                pixels = images_to_unit_range(torch.from_numpy(frames))
                encoded = {"latents": codec.encode(pixels[None])[0]}
                if conditioner is not None:
                    encoded["embeddings"] = conditioner.embedding(pixels)[:, 0]
                for name, values in encoded.items():
                    array = np.ascontiguousarray(values.float().cpu().numpy())
                    shapes[name] = list(array.shape[1:])
                    files[name].write(array.tobytes())
                    files[name].flush()
                done = min(start + CHUNK, total)
                progress_file.write_text(json.dumps({"frames": done, "shapes": shapes}))
                bar.update(len(frames))
            bar.close()
        finally:
            for handle in files.values():
                handle.close()
    for name, raw in raws.items():
        if raw.is_file():  # not yet converted (a converted one's raw file is gone)
            raw_to_npy(raw, staging / f"{name}.npy", (total, *shapes[name]), np.float32)
    progress_file.unlink(missing_ok=True)
