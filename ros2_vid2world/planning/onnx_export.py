"""Export the per-step denoiser (`CachedFrameDenoiser`) to ONNX, tied to the weights it came from."""

from __future__ import annotations

import copy
import hashlib
import io
import os
import uuid
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.models.activations import GEGLU
from torch import nn

from ..world_model.model import Vid2WorldModel
from .onnx_denoiser import CachedFrameDenoiser, DenoiserLayout

ONNX_FORMAT = "ros2_vid2world/onnx-denoiser/1"
# Metadata of a quantized file ("int8"); an export of the weights as they are carries none (fp32).
PRECISION_KEY = "vid2world.precision"
DEFAULT_OPSET = 17
# 14 brings Trilu and the attention export; 20 is the TorchScript exporter's newest.
OPSETS = range(14, 21)


def check_opset(opset: int) -> int:
    if opset not in OPSETS:
        raise ValueError(f"`opset` must be in [{OPSETS[0]}, {OPSETS[-1]}]. Got {opset}.")
    return opset


class SplitGEGLU(nn.Module):
    """GEGLU with its projection as two linears: the same numbers, but the exported graph has no
    `chunk`, which ONNX Runtime runs as two copying Slices (a view in torch)."""

    def __init__(self, geglu: GEGLU):
        super().__init__()
        proj = geglu.proj
        half = proj.out_features // 2
        bias = proj.bias is not None
        self.value = nn.Linear(proj.in_features, half, bias=bias)
        self.gate = nn.Linear(proj.in_features, half, bias=bias)
        with torch.no_grad():
            for part, rows in ((self.value, slice(0, half)), (self.gate, slice(half, None))):
                part.weight.copy_(proj.weight[rows])
                if bias:
                    part.bias.copy_(proj.bias[rows])

    def forward(self, hidden_states: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        return self.value(hidden_states) * F.gelu(self.gate(hidden_states))


def for_onnx_runtime(model: Vid2WorldModel) -> Vid2WorldModel:
    """A copy of the model rewritten, without changing its results, for what ONNX Runtime runs well."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, GEGLU):
                setattr(parent, name, SplitGEGLU(child))
    return model


def weights_fingerprint(model: nn.Module) -> str:
    """sha256 of the model's parameters and buffers in fp32: ties an exported file to its weights."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def example_inputs(
    layout: DenoiserLayout, count: int = 5, guided: bool = True, past_frames: int = 6, seed: int = 0
) -> dict[str, torch.Tensor]:
    """Random inputs of the layout's shapes: M = 2N when guided. The default sizes differ from every
    fixed size of the tiny presets, so that tracing cannot confuse a dynamic size with a constant."""
    generator = torch.Generator().manual_seed(seed)
    sizes = {"M": 2 * count if guided else count, "N": count, "P": past_frames}
    inputs = {}
    for name, shape in layout.input_shapes().items():
        shape = [sizes.get(s, s) for s in shape]
        if name == "timestep":
            inputs[name] = torch.randint(0, 1000, shape, generator=generator)
        elif name == "keep":
            inputs[name] = torch.rand(shape, generator=generator) > 0.3
        else:
            inputs[name] = torch.randn(shape, generator=generator)
    return inputs


def export_denoiser(model: Vid2WorldModel, opset: int = DEFAULT_OPSET) -> bytes:
    """The per-step denoiser of an fp32 CPU model as a serialized ONNX model (metadata included).

    Uses the TorchScript exporter (`dynamo=False`), which needs no extra package and keeps the batch
    and past-length axes dynamic.
    """
    import onnx

    check_opset(opset)
    parameter = next(model.parameters())
    if parameter.dtype != torch.float32 or parameter.device.type != "cpu":
        raise ValueError(f"export needs an fp32 CPU model. Got {parameter.dtype} on {parameter.device}.")
    size_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    if size_bytes >= 2**31:
        raise ValueError(
            f"the model has {size_bytes / 2**30:.1f} GiB of weights; ONNX files over 2 GiB need external "
            "data, which this exporter does not write yet."
        )
    layout = DenoiserLayout.of(model)
    inputs = example_inputs(layout)
    exported = for_onnx_runtime(model).eval()
    dynamic = {
        name: {axis: s for axis, s in enumerate(shape) if isinstance(s, str)}
        for name, shape in {**layout.input_shapes(), **layout.output_shapes()}.items()
    }
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The tracer warns about size checks inside torch and diffusers (training-only asserts, a
        # `contiguous()` for large batches) that do not change results; the parity tests run the
        # graph at other batch and past sizes than the trace. The exporter's deprecation notice is
        # known: this torch still ships the TorchScript exporter, which needs no onnxscript.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            CachedFrameDenoiser(exported, layout),
            tuple(inputs.values()),
            buffer,
            dynamo=False,
            input_names=list(inputs),
            output_names=list(layout.output_shapes()),
            dynamic_axes=dynamic,
            opset_version=opset,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    onnx.helper.set_model_props(
        proto,
        {
            "vid2world.format": ONNX_FORMAT,
            "vid2world.layout": layout.describe(),
            "vid2world.weights_sha256": weights_fingerprint(model),
        },
    )
    return proto.SerializeToString()


def save_denoiser_onnx(model: Vid2WorldModel, path: str | os.PathLike, opset: int = DEFAULT_OPSET) -> Path:
    """Export and write atomically: a crash leaves the old file or the new one, never half of one."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {str(path)!r}: directory {str(path.parent)!r} does not exist.")
    return write_atomically(path, export_denoiser(model, opset))


def write_atomically(path: Path, data: bytes) -> Path:
    """Write `data` to `path` through a staging file beside it, renamed into place."""
    staging = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(staging, "xb") as file:  # created with the usual permissions (umask), unlike mkstemp
            file.write(data)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise
    return path
