"""The planner is built from the node's settings, with either backend, and refuses a mismatched model."""

import numpy as np
import pytest

from ros2_vid2world.ros.node_config import read_settings
from ros2_vid2world.ros.planner_loading import load_planner, model_window

from .conftest import TINY_PLANNER


def settings(model_path, **changes):
    values = dict(
        model_path=str(model_path),
        joint_names=["j1", "j2"],
        action_low=[-0.5],
        action_high=[0.5, 0.25],
        device="cpu",
        num_threads=0,  # torch's thread count is process-wide: leave it alone for the other tests
        **TINY_PLANNER,
    )
    values.update(changes)
    return read_settings(values)


def plan_once(planner) -> np.ndarray:
    frame = np.zeros((*planner.image_size, 3), np.uint8)
    planner.set_goal(frame)
    planner.observe(frame, None)
    return planner.plan().action


def test_torch_planner_from_settings(tiny_model_path):
    planner = load_planner(settings(tiny_model_path))
    assert planner.image_size == (16, 16) and planner.action_dim == 2 and model_window(planner) == 8
    assert planner.config.population == TINY_PLANNER["planner.population"]
    action = plan_once(planner)
    assert action.shape == (2,) and np.all(action >= [-0.5, -0.5]) and np.all(action <= [0.5, 0.25])


def test_onnxruntime_backend_plans_too(tiny_model_path):
    pytest.importorskip("onnxruntime")
    onnx_engine = pytest.importorskip("ros2_vid2world.planning.onnx_engine")
    planner = load_planner(settings(tiny_model_path, backend="onnxruntime"))
    assert isinstance(planner.engine, onnx_engine.OrtImaginationEngine)
    assert plan_once(planner).shape == (2,)


def test_joint_names_must_match_the_model_action_dimension(tiny_model_path):
    with pytest.raises(ValueError, match="has 3 joints but the model .* dimension 2"):
        load_planner(settings(tiny_model_path, joint_names=["a", "b", "c"]))


def test_planner_settings_must_fit_the_model_window(tiny_model_path):
    with pytest.raises(ValueError, match="window of 8 frames"):
        load_planner(settings(tiny_model_path, **{"planner.history_frames": 6, "planner.horizon": 4}))


def test_bf16_precision_plans_under_autocast(tiny_model_path):
    import torch

    planner = load_planner(settings(tiny_model_path, precision="bf16"))
    assert planner.engine.autocast_dtype == torch.bfloat16
    assert plan_once(planner).shape == (2,)


def test_a_reduced_precision_with_onnxruntime_is_refused(tiny_model_path):
    pytest.importorskip("onnxruntime")
    with pytest.raises(ValueError, match="`precision` 'bf16' applies to backend torch only"):
        load_planner(settings(tiny_model_path, backend="onnxruntime", precision="bf16"))
