"""Building the planning library's VisualPlanner (and its imagination backend) from the node's settings.

The planning library (and torch) is imported here, on first use, rather than with the node module:
importing torch takes seconds, and a lifecycle node should answer `get_state` straight away.
"""

from __future__ import annotations

from .parameters import NodeSettings, check_planner_values, planner_config


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("`device` is 'cuda' but torch sees no CUDA device (use 'auto' or 'cpu').")
    return device


def load_planner(settings: NodeSettings):
    """Load the world-model folder and build the planner; ValueError with a clear message on failure."""
    import torch

    from ..planning.visual_planner import VisualPlanner
    from ..world_model.folder import WorldModelFolder

    if settings.num_threads > 0:
        torch.set_num_threads(settings.num_threads)
    device = resolve_device(settings.device)
    folder = WorldModelFolder.load(settings.model_path, device=device)
    action_dim = folder.model.config.action_dim
    if len(settings.joint_names) != action_dim:
        raise ValueError(
            f"`joint_names` has {len(settings.joint_names)} joints but the model at {settings.model_path!r} "
            f"takes actions of dimension {action_dim}."
        )
    low, high = settings.bounds(action_dim)
    check_planner_values(settings.planner, folder.model.config.max_frames)
    engine = imagination_engine(settings, folder, device)
    return VisualPlanner(folder, planner_config(settings.planner), low=low, high=high, engine=engine)


def imagination_engine(settings: NodeSettings, folder, device: str):
    """None for torch in fp32 (the planner builds its own engine on the folder's device); the torch
    engine in fp16/bf16; for onnxruntime, the planning library's ONNX Runtime engine. An empty
    `onnx_model` exports the model now (seconds when small)."""
    if settings.backend == "torch":
        if settings.precision == "fp32":
            return None
        from ..planning.backends import make_imagination_engine

        return make_imagination_engine(folder, device=device, precision=settings.precision)
    try:
        from ..planning.backends import make_imagination_engine
    except ImportError as exc:
        raise ValueError(f"`backend` 'onnxruntime' is not available here: {exc}") from None
    if settings.precision != "fp32":
        raise ValueError(
            f"`precision` {settings.precision!r} applies to backend torch only; onnxruntime runs fp32."
        )
    return make_imagination_engine(
        folder,
        backend="onnxruntime",
        device=device,
        onnx_path=settings.onnx_model or None,
        threads=settings.num_threads or None,
    )


def model_window(planner) -> int:
    """How many frames (history + imagined) the planner's model can look at."""
    return int(planner.folder.model.config.max_frames)
