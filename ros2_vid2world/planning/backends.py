"""Choose how the imagination engine runs: torch (CPU or CUDA, fp16 on CUDA, bf16, optionally compiled) or
ONNX Runtime. One factory, so callers (planner, benchmark, node) name a backend and nothing else."""

from __future__ import annotations

import copy
import os

import torch
from diffusers import SchedulerMixin

from ..choices import BACKENDS, DEVICES, ONNX_PRECISIONS, PRECISIONS
from ..world_model.folder import WorldModelFolder
from ..world_model.model import Vid2WorldModel
from ..world_model.sampler import SamplerConfig
from .imagination import ImaginationEngine


def select_device(device: str = "auto") -> torch.device:
    """ "cpu", "cuda" (must be available) or "auto" (CUDA when torch sees a GPU, else CPU)."""
    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {list(DEVICES)}. Got {device!r}.")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device 'cuda' was requested but torch sees no CUDA device (torch.cuda.is_available())."
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def make_imagination_engine(
    folder_or_model: WorldModelFolder | Vid2WorldModel,
    scheduler: SchedulerMixin | None = None,
    config: SamplerConfig | None = None,
    *,
    backend: str = "torch",
    device: str = "auto",
    precision: str = "fp32",
    onnx_path: str | os.PathLike | None = None,
    compile: bool = False,
    threads: int | None = None,
) -> ImaginationEngine:
    """An imagination engine for a world model on the chosen backend.

    Args:
        folder_or_model: a loaded `WorldModelFolder` (its scheduler is used) or a `Vid2WorldModel`.
        scheduler: required with a bare model; overrides the folder's otherwise.
        config: sampler settings (steps, guidance); default `SamplerConfig()`.
        backend: "torch" or "onnxruntime".
        device: "auto", "cpu" or "cuda". torch: where the model runs. onnxruntime: which execution
            providers may be used (TensorRT/CUDA need onnxruntime-gpu); the history runs in torch
            on the model as given.
        precision: "fp32" (both backends). torch: "fp16": fp16 weights and activations, CUDA only;
            "bf16": the model calls under bf16 autocast (weights stay fp32), on CPU or CUDA. On a CPU
            with AMX or AVX-512 BF16 that is ~1.6x faster (`vid2world bench` measures it); elsewhere
            bf16 is emulated and slower. onnxruntime: "int8": the statically quantized denoiser of
            `vid2world export-onnx --int8` (onnx_path must name that file).
        onnx_path: onnxruntime only: a file from `vid2world export-onnx` (checked against the model and
            the precision); None exports the model in memory (fp32 only).
        compile: torch only: wrap the cached forward in `torch.compile` (slow first calls).
        threads: onnxruntime only: intra-op threads (default: one per physical core).

    The model passed in is never modified: a copy is moved when the device or precision differs.
    """
    if backend not in BACKENDS:
        raise ValueError(f"`backend` must be one of {list(BACKENDS)}. Got {backend!r}.")
    if isinstance(folder_or_model, WorldModelFolder):
        model, scheduler = folder_or_model.model, scheduler or folder_or_model.scheduler
    else:
        model = folder_or_model
    if scheduler is None:
        raise ValueError("`scheduler` is required when a bare model (not a WorldModelFolder) is given.")
    if precision not in PRECISIONS + ONNX_PRECISIONS:
        allowed = ONNX_PRECISIONS if backend == "onnxruntime" else PRECISIONS
        raise ValueError(f"`precision` must be one of {list(allowed)}. Got {precision!r}.")
    if backend == "onnxruntime":
        if compile:
            raise ValueError(
                "`compile` applies to the torch backend only. Got compile=True with onnxruntime."
            )
        if precision not in ONNX_PRECISIONS:
            raise ValueError(
                f"`precision` {precision!r} applies to backend torch only; onnxruntime runs "
                f"{' or '.join(ONNX_PRECISIONS)}."
            )
        from .onnx_engine import OrtImaginationEngine

        return OrtImaginationEngine(
            model, scheduler, config, onnx_path, device=device, threads=threads, precision=precision
        )
    if onnx_path is not None or threads is not None:
        raise ValueError("`onnx_path` and `threads` apply to the onnxruntime backend only.")
    if precision not in PRECISIONS:
        raise ValueError(
            f"`precision` {precision!r} applies to backend onnxruntime only (a file from "
            "`vid2world export-onnx --int8`)."
        )
    target = select_device(device)
    if precision == "fp16" and target.type != "cuda":
        raise ValueError(f"`precision` 'fp16' needs a CUDA device. Got device {str(target)!r}.")
    dtype = torch.float16 if precision == "fp16" else torch.float32
    parameter = next(model.parameters())
    if parameter.device != target or parameter.dtype != dtype:
        model = copy.deepcopy(model).to(target, dtype)
    autocast_dtype = torch.bfloat16 if precision == "bf16" else None
    return ImaginationEngine(
        model.eval(), scheduler, config, compile_model=compile, autocast_dtype=autocast_dtype
    )
