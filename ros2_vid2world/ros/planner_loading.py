"""Building the planning library's VisualPlanner (and its imagination backend) from the node's settings.

The planning library (and torch) is imported here, on first use, rather than with the node module:
importing torch takes seconds, and a lifecycle node should answer `get_state` straight away.
"""

from __future__ import annotations

from .node_config import PLANNER_PREFIX, NodeConfig


def load_planner(settings: NodeConfig):
    """Load the world-model folder and build the planner; ValueError with a clear message on failure."""
    import torch

    from ..planning.backends import make_imagination_engine, select_device
    from ..planning.planner_config import PlannerConfig
    from ..planning.visual_planner import VisualPlanner
    from ..settings import prefixed
    from ..world_model.folder import WorldModelFolder

    if settings.num_threads > 0:
        torch.set_num_threads(settings.num_threads)
    device = select_device(settings.device)
    folder = WorldModelFolder.load(settings.model_path, device=device)
    action_dim = folder.model.config.action_dim
    if len(settings.joint_names) != action_dim:
        raise ValueError(
            f"`joint_names` has {len(settings.joint_names)} joints but the model at {settings.model_path!r} "
            f"takes actions of dimension {action_dim}."
        )
    low, high = settings.bounds(action_dim)
    try:
        settings.planner.check_window(folder.model.config.max_frames)
    except ValueError as exc:
        raise ValueError(prefixed(str(exc), PlannerConfig, PLANNER_PREFIX)) from None
    # torch in fp32 runs on the folder's model as loaded; the other backends wrap it.
    engine = None
    if settings.backend != "torch" or settings.precision != "fp32":
        try:
            engine = make_imagination_engine(
                folder,
                backend=settings.backend,
                device=settings.device,
                precision=settings.precision,
                onnx_path=(settings.onnx_model or None) if settings.backend == "onnxruntime" else None,
                threads=(settings.num_threads or None) if settings.backend == "onnxruntime" else None,
            )
        except ImportError as exc:
            raise ValueError(f"`backend` {settings.backend!r} is not available here: {exc}") from None
    return VisualPlanner(folder, settings.planner, low=low, high=high, engine=engine)


def model_window(planner) -> int:
    """How many frames (history + imagined) the planner's model can look at."""
    return int(planner.folder.model.config.max_frames)
