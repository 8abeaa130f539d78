"""`vid2world bench`'s decision rows: the same decision timed for each search method and each backend in one
run, and the int8 denoiser's imagined-frame PSNR against the fp32 one it was quantized from."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import torch

from .planning.imagination_agreement import imagination_agreement
from .planning.onnx_calibration import Clip, calibration_feeds
from .planning.onnx_engine import OrtImaginationEngine
from .planning.onnx_export import export_denoiser
from .planning.onnx_quantize import quantize_denoiser
from .planning.planner_config import PlannerConfig
from .world_model.folder import WorldModelFolder

METHODS = ("cem", "icem", "mppi")
# Few clips: the bench reports int8's speed and how far its frames drift, not a shippable int8 file
# (`vid2world export-onnx --int8` calibrates on more).
CALIBRATION_CLIPS = 4


class Progress:
    """One line per measurement on stderr ("bench: timing cem decision (3/12)..."): long runs show
    where they are."""

    def __init__(self, total: int, write: Callable[[str], None] | None = None):
        self.total, self.done = total, 0
        self.write = write or (lambda line: print(line, file=sys.stderr, flush=True))

    def __call__(self, what: str) -> None:
        self.done += 1
        self.write(f"bench: {what} ({self.done}/{self.total})...")


def frame_evaluations(config: PlannerConfig) -> int:
    """Candidate frames a decision imagines: the candidates of every iteration x the frames of each."""
    return sum(config.populations()) * config.model_steps


def synthetic_clips(folder: WorldModelFolder, config: PlannerConfig, count: int, seed: int) -> Iterator[Clip]:
    """Random history latents and actions and candidates within the planner's bounds: what a random-init
    model is calibrated on when there is no dataset of its frames."""
    model = folder.model
    height, width = (s // folder.codec.spatial_factor for s in folder.image_size)
    action_dim, past = model.config.action_dim, config.history_frames
    generator = torch.Generator().manual_seed(seed)
    for number in range(count):
        yield Clip(
            history=torch.randn(1, past, model.sample_channels, height, width, generator=generator),
            history_actions=torch.rand(1, past - 1, action_dim, generator=generator) * 2 - 1,
            candidates=torch.rand(4, config.horizon, action_dim, generator=generator) * 2 - 1,
            seed=seed * 100_003 + number,
        )


def int8_denoiser(
    folder: WorldModelFolder,
    config: PlannerConfig,
    out: Path,
    dataset: Path | None,
) -> tuple[bytes, Callable[[int], Iterator[Clip]], str]:
    """Quantize the folder's denoiser to `out`, calibrated on dataset clips (or synthetic ones without a
    dataset). Returns (the fp32 export, clips by seed for the PSNR, how it was calibrated)."""
    if dataset is None:
        def clips(seed: int) -> Iterator[Clip]:
            return synthetic_clips(folder, config, CALIBRATION_CLIPS, seed)

        source = f"{CALIBRATION_CLIPS} synthetic clips (random frames, no dataset: use --model M --data DS)"
    else:
        from .dataset.store import EpisodeDataset
        from .planning.calibration_config import CalibrationConfig
        from .planning.onnx_calibration import dataset_clips

        data = EpisodeDataset(dataset)
        calibration = CalibrationConfig(
            clips=CALIBRATION_CLIPS,
            history_frames=config.history_frames,
            horizon=config.horizon,
            denoise_steps=config.denoise_steps,
            guidance_scale=config.guidance_scale,
        )

        def clips(seed: int) -> Iterator[Clip]:
            return dataset_clips(folder, data, calibration, seed)

        source = f"{CALIBRATION_CLIPS} clips of dataset {str(dataset)!r}"
    fp32_model = export_denoiser(folder.model)
    quantize_denoiser(fp32_model, calibration_feeds(folder, clips(0), config.sampler_config()), out)
    return fp32_model, clips, source


def int8_agreement(
    folder: WorldModelFolder, config: PlannerConfig, fp32_model: bytes, int8_file: Path, clips
) -> dict:
    """PSNR of the int8 denoiser's imagined frames against the fp32 one's, on clips other than the
    calibration's (same inputs, same noise)."""
    engines = [
        OrtImaginationEngine(
            folder.model, folder.scheduler, config.sampler_config(), onnx, device="cpu",
            threads=torch.get_num_threads(), precision=precision,
        )
        for onnx, precision in ((fp32_model, "fp32"), (int8_file, "int8"))
    ]
    agreement = imagination_agreement(*engines, folder.codec, clips(1))
    return {
        "int8_psnr_db": agreement.mean_db,
        "int8_psnr_min_db": agreement.min_db,
        "int8_psnr_frames": agreement.frames,
    }


def method_rows(
    latency_ms: Callable[..., float], config: PlannerConfig, progress: Progress, cem_ms: float
) -> dict[str, dict]:
    """Decision latency and frame evaluations for each method at the same settings (cem's decision is
    the one already timed)."""
    rows = {}
    for method in METHODS:
        method_config = dataclasses.replace(config, method=method)
        if method == "cem":
            ms = cem_ms
        else:
            progress(f"timing {method} decision")
            ms = latency_ms(method=method)
        rows[method] = {"decision_ms": ms, "frame_evaluations": frame_evaluations(method_config)}
    return rows


def backend_rows(
    folder: WorldModelFolder,
    config: PlannerConfig,
    latency_ms: Callable[..., float],
    progress: Progress,
    torch_ms: dict[str, float],
    ort_skipped: str | None,
    dataset: Path | None = None,
) -> dict:
    """The cem decision with the model in torch fp32 / bf16 (timed already, `torch_ms`) and in ONNX Runtime
    fp32 / int8, and int8's PSNR; the ONNX Runtime rows are left out with `ort_skipped` as the reason."""
    rows = {f"torch {precision}": {"decision_ms": ms} for precision, ms in torch_ms.items()}
    results: dict = {"backends": rows}
    if ort_skipped is not None:
        results["backends_skipped"] = f"onnxruntime fp32 and int8: {ort_skipped}"
        return results
    progress("timing onnxruntime fp32 decision")
    rows["onnxruntime fp32"] = {"decision_ms": latency_ms(backend="onnxruntime")}
    with tempfile.TemporaryDirectory(prefix="vid2world-bench-") as work:
        int8_file = Path(work) / "denoiser.int8.onnx"
        progress("calibrating and quantizing the int8 denoiser")
        fp32_model, clips, source = int8_denoiser(folder, config, int8_file, dataset)
        progress("timing onnxruntime int8 decision")
        rows["onnxruntime int8"] = {
            "decision_ms": latency_ms(backend="onnxruntime", precision="int8", onnx_path=int8_file)
        }
        progress("comparing int8 imagined frames with fp32")
        results |= int8_agreement(folder, config, fp32_model, int8_file, clips)
    results["int8_calibration"] = source
    return results


