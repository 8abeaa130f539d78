"""How close one imagination engine's frames are to another's on the same inputs and noise: e.g. the int8
ONNX denoiser against the fp32 one it was quantized from (`vid2world export-onnx --int8` prints it;
`vid2world bench` can report it beside the latency)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ..world_model.latent_codec import LatentCodec
from .imagination import ImaginationEngine
from .onnx_calibration import Clip, imagine_clip


@dataclass
class ImaginationAgreement:
    """PSNR in dB of the engine's decoded frames against the reference's (images in [0, 1], peak 1):

    per_step_db: [H] mean over clips and candidates at each imagined step (errors compound over the
    rollout, so later steps are lower); mean_db: over every frame; min_db: the worst frame;
    frames: how many frames were compared.
    """

    per_step_db: list[float]
    mean_db: float
    min_db: float
    frames: int


@torch.no_grad()
def imagination_agreement(
    reference: ImaginationEngine, engine: ImaginationEngine, codec: LatentCodec, clips: Iterable[Clip]
) -> ImaginationAgreement:
    """Imagine every clip with both engines (same history, candidates and noise), decode, compare."""
    scores = []  # per clip: [N, H] dB
    for clip in clips:
        expected = codec.decode(imagine_clip(reference, clip))
        got = codec.decode(imagine_clip(engine, clip))
        scores.append(frame_psnr(got, expected))
    if not scores:
        raise ValueError("no clips to compare the engines on.")
    db = torch.cat(scores)
    return ImaginationAgreement(
        per_step_db=[round(float(v), 3) for v in db.mean(dim=0)],
        mean_db=round(float(db.mean()), 3),
        min_db=round(float(db.min()), 3),
        frames=db.numel(),
    )


def frame_psnr(frames: torch.Tensor, reference: torch.Tensor, cap_db: float = 100.0) -> torch.Tensor:
    """[..., 3, H, W] decoded frames in [-1, 1] -> [...] PSNR in dB of the images in [0, 1], capped at
    `cap_db` (identical frames would be infinite)."""
    error = ((frames.float() - reference.float()) / 2).square().mean(dim=(-3, -2, -1))
    return (-10 * torch.log10(error)).clamp(max=cap_db)
