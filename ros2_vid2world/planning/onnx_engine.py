"""The imagination engine with its per-frame denoiser running in ONNX Runtime."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from diffusers import SchedulerMixin

from ..choices import DEVICES, ONNX_PRECISIONS
from ..world_model.frame_cache import FrameCache
from ..world_model.model import Vid2WorldModel
from ..world_model.noise_schedule import is_continuous
from ..world_model.sampler import SamplerConfig
from .imagination import ImaginationEngine
from .onnx_denoiser import CachedFrameDenoiser, DenoiserLayout
from .onnx_export import ONNX_FORMAT, PRECISION_KEY, example_inputs, export_denoiser, weights_fingerprint

GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


def execution_providers(device: str = "auto") -> list[str]:
    """ONNX Runtime providers, best first: TensorRT and CUDA when this onnxruntime build offers them
    (onnxruntime-gpu) and `device` allows, the CPU always last as the fallback."""
    import onnxruntime as ort

    if device not in DEVICES:
        raise ValueError(f"`device` must be one of {list(DEVICES)}. Got {device!r}.")
    available = ort.get_available_providers()
    gpu = [p for p in GPU_PROVIDERS if p in available] if device != "cpu" else []
    if device == "cuda" and not gpu:
        raise ValueError(
            f"device 'cuda' needs onnxruntime-gpu with {list(GPU_PROVIDERS)}; "
            f"this onnxruntime offers {available}."
        )
    return [*gpu, "CPUExecutionProvider"]


def physical_cores() -> int:
    """Physical cores this process may use (hyperthreads share a core's arithmetic units)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        cores, entry = set(), {}
        for line in Path("/proc/cpuinfo").read_text().splitlines() + [""]:
            key, _, value = line.partition(":")
            if key.strip() in ("physical id", "core id"):
                entry[key.strip()] = value.strip()
            elif not line.strip() and entry:
                cores.add((entry.get("physical id"), entry.get("core id")))
                entry = {}
    except OSError:
        return usable
    return max(1, min(usable, len(cores) or usable))


def make_session(onnx_model: str | os.PathLike | bytes, device: str = "auto", threads: int | None = None):
    """An InferenceSession with every graph optimisation on and one intra-op thread per physical core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads or physical_cores()
    options.inter_op_num_threads = 1
    source = onnx_model if isinstance(onnx_model, bytes) else str(onnx_model)
    return ort.InferenceSession(source, options, providers=execution_providers(device))


def check_session(
    session, model: Vid2WorldModel, layout: DenoiserLayout, name: str = "ONNX model", precision: str = "fp32"
) -> None:
    """Raise ValueError (one line, naming what was expected) unless `session` is this model's denoiser
    in `precision` ("fp32", or "int8" from `vid2world export-onnx --int8`)."""
    expected = layout.describe()
    meta = session.get_modelmeta().custom_metadata_map
    if meta.get("vid2world.format") != ONNX_FORMAT:
        raise ValueError(
            f"{name} is not a vid2world denoiser export (format {meta.get('vid2world.format')!r}, "
            f"expected {ONNX_FORMAT!r}); create one with `vid2world export-onnx`."
        )
    # Files written before int8 existed carry no precision: they are fp32.
    stored = meta.get(PRECISION_KEY, "fp32")
    if stored != precision:
        how = "`vid2world export-onnx --int8 --data DS`" if precision == "int8" else "`vid2world export-onnx`"
        raise ValueError(
            f"{name} holds an {stored} denoiser, but precision {precision!r} was asked for: set precision "
            f"{stored!r}, or write an {precision} file with {how}."
        )
    inputs = {i.name: i.shape for i in session.get_inputs()}
    outputs = [o.name for o in session.get_outputs()]
    wanted = layout.input_shapes()
    if list(inputs) != list(wanted) or outputs != list(layout.output_shapes()):
        missing = sorted(set(wanted) - set(inputs)) or sorted(set(layout.output_shapes()) - set(outputs))
        extra = sorted(set(inputs) - set(wanted)) or sorted(set(outputs) - set(layout.output_shapes()))
        raise ValueError(
            f"{name} does not match the model ({expected}): missing {missing[:4]}, unexpected {extra[:4]} "
            f"(the file was exported for {meta.get('vid2world.layout')!r})."
        )
    # Inputs carry exact sizes; exported output shapes may name their sizes symbolically.
    for tensor, shape in wanted.items():
        got = inputs[tensor]
        if len(got) != len(shape) or any(
            isinstance(w, int) and g != w for w, g in zip(shape, got, strict=True)
        ):
            raise ValueError(
                f"{name} does not match the model ({expected}): input {tensor!r} should be {shape}, "
                f"the file has {got}."
            )
    if meta.get("vid2world.weights_sha256") != weights_fingerprint(model):
        raise ValueError(
            f"{name} was exported from different weights than this model ({expected}); "
            "re-run `vid2world export-onnx` for this model."
        )


def check_onnx_support(model: Vid2WorldModel, scheduler: SchedulerMixin) -> None:
    """ValueError unless the exported denoiser can run this model: it takes integer noise levels and no
    image conditioning inputs."""
    if model.config.conditioning == "image" or is_continuous(scheduler):
        raise ValueError(
            "the onnxruntime backend runs this project's own models only; a model transferred from "
            "Stable Video Diffusion (continuous noise, image conditioning) runs with backend 'torch'."
        )


def flat_past(layout: DenoiserLayout, cache: FrameCache, count: int) -> dict[str, np.ndarray]:
    """A `FrameCache` -> the denoiser's past inputs for a batch of `count` (see onnx_denoiser)."""
    flat = layout.flatten(cache, count)
    return {name: tensor.detach().to("cpu", torch.float32).numpy() for name, tensor in flat.items()}


class OrtRollout:
    """`TorchRollout`'s interface over an ONNX Runtime session: the past lives in numpy arrays of batch N,
    rebuilt once per committed frame; the denoising steps only read it."""

    def __init__(self, session, layout: DenoiserLayout, past: dict[str, np.ndarray]):
        self.session, self.layout, self.past = session, layout, past
        self._outputs = list(layout.output_shapes())

    def predict(self, sample, levels, led_to, keep) -> torch.Tensor:
        (prediction,) = self.session.run(["prediction"], self._feed(sample, levels, led_to, keep))
        return torch.from_numpy(prediction).to(sample.device, sample.dtype)

    def commit(self, sample, levels, led_to, keep) -> None:
        outputs = self.session.run(self._outputs, self._feed(sample, levels, led_to, keep))
        new = dict(zip(self._outputs, outputs, strict=True))
        for i in range(len(self.layout.attention)):
            for kind in ("key", "value"):
                past = self.past[f"past_{kind}.{i}"]
                self.past[f"past_{kind}.{i}"] = np.concatenate([past, new[f"new_{kind}.{i}"]], axis=3)
        for j, (_, (_, frames, _, _)) in enumerate(self.layout.convs):
            joined = np.concatenate([self.past[f"past_conv.{j}"], new[f"new_conv.{j}"]], axis=2)
            self.past[f"past_conv.{j}"] = np.ascontiguousarray(joined[:, :, -frames:])

    def _feed(self, sample, levels, led_to, keep) -> dict[str, np.ndarray]:
        return denoiser_feed(sample, levels, led_to, keep, self.past)


def denoiser_feed(sample, levels, led_to, keep, past: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The exported denoiser's inputs by name: one new frame's call ([M, 1, ...] tensors, as
    `TorchRollout.predict` takes them) and the past ([N, ...] arrays from `flat_past`)."""
    return {
        "sample": _numpy(sample, np.float32),
        "timestep": _numpy(levels, np.int64),
        "led_to_action": _numpy(led_to, np.float32),
        "keep": _numpy(keep, np.bool_),
        **past,
    }


def _numpy(tensor: torch.Tensor, dtype) -> np.ndarray:
    return np.ascontiguousarray(tensor.detach().cpu().numpy(), dtype=dtype)


class OrtImaginationEngine(ImaginationEngine):
    """`ImaginationEngine` whose per-frame denoiser runs in ONNX Runtime.

    `set_history` runs in torch (once per decision); every denoising step and commit of `imagine` runs
    the exported `CachedFrameDenoiser`. Same interface, same noise, same frames to float precision.

    Args:
        model, scheduler, config: as for `ImaginationEngine`; the model computes the history.
        onnx_model: a file written by `vid2world export-onnx`, or its bytes; None exports the model now.
        device: "auto" (TensorRT/CUDA providers when onnxruntime-gpu offers them, else CPU), "cpu", "cuda".
        threads: intra-op threads; default one per physical core.
        precision: "fp32", or "int8": `onnx_model` must then be a file from `vid2world export-onnx
            --int8` (quantization needs a dataset to calibrate on, so it is never done here).

    Raises:
        ValueError: the ONNX model is not this model's denoiser (layers, shapes or weights differ), or
            not of `precision`.
    """

    def __init__(
        self,
        model: Vid2WorldModel,
        scheduler: SchedulerMixin,
        config: SamplerConfig | None = None,
        onnx_model: str | os.PathLike | bytes | None = None,
        device: str = "auto",
        threads: int | None = None,
        precision: str = "fp32",
    ):
        super().__init__(model, scheduler, config)
        check_onnx_support(model, scheduler)
        if precision not in ONNX_PRECISIONS:
            raise ValueError(f"`precision` must be one of {list(ONNX_PRECISIONS)}. Got {precision!r}.")
        self.layout = DenoiserLayout.of(model)
        if onnx_model is None:
            if precision != "fp32":
                raise ValueError(
                    f"precision {precision!r} needs a file from `vid2world export-onnx --int8 --data DS`: "
                    "quantization is calibrated on a dataset's frames, so it is not done at load time."
                )
            onnx_model, name = export_denoiser(model), "the exported ONNX model"
        elif isinstance(onnx_model, bytes):
            name = "the ONNX model"
        else:
            if not Path(onnx_model).is_file():
                raise ValueError(f"ONNX file {str(onnx_model)!r} does not exist.")
            name = f"ONNX file {str(onnx_model)!r}"
        try:
            self.session = make_session(onnx_model, device, threads)
        except ValueError:
            raise
        except Exception as exc:  # onnxruntime raises its own types for unreadable files
            raise ValueError(
                f"{name} could not be loaded by onnxruntime: {str(exc).splitlines()[0]}"
            ) from exc
        check_session(self.session, model, self.layout, name, precision)
        self.precision = precision

    # The exported denoiser takes one new frame per call.
    ROLLOUTS = ("autoregressive",)

    @property
    def providers(self) -> list[str]:
        return self.session.get_providers()

    def _start_rollout(self, count: int) -> OrtRollout:
        return OrtRollout(self.session, self.layout, flat_past(self.layout, self._history, count))


@torch.no_grad()
def max_abs_difference(model: Vid2WorldModel, session, count: int = 3, past_frames: int = 3) -> float:
    """Largest |ONNX Runtime - torch| over every output of the denoiser, on random guided inputs."""
    layout = DenoiserLayout.of(model)
    inputs = example_inputs(layout, count=count, past_frames=past_frames, seed=1)
    expected = CachedFrameDenoiser(model, layout)(*inputs.values())
    got = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})
    return max(float(np.abs(g - e.numpy()).max()) for g, e in zip(got, expected, strict=True))
