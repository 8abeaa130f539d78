import functools
import os

import pytest
import torch

from ros2_vid2world.planning.backends import make_imagination_engine, select_device
from ros2_vid2world.planning.imagination import ImaginationEngine
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from ros2_vid2world.world_model.sampler import SamplerConfig

CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def folder():
    model = causalize(base_unet_from_preset("tiny"), action_dim=2, prediction_type="v_prediction").eval()
    torch.manual_seed(3)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    return WorldModelFolder(model, make_scheduler("v_prediction", rescale_betas_zero_snr=True))


def imagine(engine, seed=11):
    g = torch.Generator().manual_seed(0)
    history, history_actions = torch.randn(1, 2, 3, 16, 16, generator=g), torch.randn(1, 1, 2, generator=g)
    candidates = torch.randn(2, 2, 2, generator=g)
    generator = torch.Generator().manual_seed(seed)
    engine.set_history(history, history_actions, generator)
    return engine.imagine(candidates, generator)


def test_torch_backend_on_cpu_uses_the_model_as_it_is(folder):
    engine = make_imagination_engine(folder, config=SamplerConfig(num_inference_steps=2), device="cpu")
    assert type(engine) is ImaginationEngine
    assert engine.model is folder.model and engine.scheduler is folder.scheduler
    assert engine.device == torch.device("cpu")


def test_device_selection():
    assert select_device("cpu") == torch.device("cpu")
    assert select_device("auto").type == ("cuda" if CUDA else "cpu")
    with pytest.raises(ValueError, match=r"`device` must be one of \['auto', 'cpu', 'cuda'\]. Got 'tpu'."):
        select_device("tpu")
    if not CUDA:
        with pytest.raises(ValueError, match="device 'cuda' was requested but torch sees no CUDA device"):
            select_device("cuda")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"backend": "tensorrt"}, r"`backend` must be one of \['torch', 'onnxruntime'\]. Got 'tensorrt'."),
        (
            {"device": "cpu", "precision": "fp16"},
            r"`precision` 'fp16' needs a CUDA device. Got device 'cpu'.",
        ),
        ({"precision": "half"}, r"`precision` must be one of \['fp32', 'fp16', 'bf16'\]. Got 'half'."),
        ({"backend": "onnxruntime", "compile": True}, "`compile` applies to the torch backend only"),
        ({"backend": "onnxruntime", "precision": "bf16"}, "`precision` 'bf16' applies to backend torch only"),
        ({"onnx_path": "x.onnx"}, "`onnx_path` and `threads` apply to the onnxruntime backend only"),
    ],
)
def test_bad_backend_settings_are_named(folder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_imagination_engine(folder, **kwargs)


def test_bare_model_needs_a_scheduler(folder):
    with pytest.raises(ValueError, match="`scheduler` is required"):
        make_imagination_engine(folder.model, device="cpu")


@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
def test_half_precision_on_cuda_stays_close_to_fp32(folder):
    config = SamplerConfig(num_inference_steps=2, guidance_scale=2.5)
    full = imagine(make_imagination_engine(folder, config=config, device="cpu"))
    half = make_imagination_engine(folder, config=config, device="cuda", precision="fp16")
    assert next(half.model.parameters()).dtype == torch.float16
    assert next(folder.model.parameters()).device.type == "cpu"  # the caller's model is not moved
    got = imagine(half)
    assert got.dtype == torch.float32 and got.device.type == "cpu"
    assert (got - full).abs().max() < 5e-2


def test_bf16_autocast_keeps_fp32_weights_and_stays_close_to_fp32(folder):
    config = SamplerConfig(num_inference_steps=2, guidance_scale=2.5)
    full = imagine(make_imagination_engine(folder, config=config, device="cpu"))
    engine = make_imagination_engine(folder, config=config, device="cpu", precision="bf16")
    assert engine.model is folder.model and engine.autocast_dtype == torch.bfloat16
    calls = []
    forward = engine._forward_cached
    engine._forward_cached = lambda *a, **k: calls.append(torch.get_autocast_dtype("cpu")) or forward(*a, **k)
    got = imagine(engine)
    assert got.dtype == torch.float32 and calls
    # Under autocast the model computes in bf16 (8-bit mantissa): close to fp32, but not equal;
    # guidance 2.5 amplifies the difference of the two passes' rounding.
    error = (got - full).abs()
    assert 0 < error.mean() < 0.05 and error.max() < 0.25, (error.mean(), error.max())


@pytest.mark.skipif(
    not os.environ.get("VID2WORLD_SLOW_TESTS"),
    reason="torch.compile takes ~40 s to trace this model on a 2-core CPU (dynamo, eager backend) and over "
    "5 min with inductor; set VID2WORLD_SLOW_TESTS=1 to run",
)
def test_compiled_engine_keeps_parity(folder, monkeypatch):
    # The eager backend checks that dynamo traces the cached forward (cache reads and commits) unchanged.
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend="eager"))
    config = SamplerConfig(num_inference_steps=2, guidance_scale=2.5)
    expected = imagine(make_imagination_engine(folder, config=config, device="cpu"))
    got = imagine(make_imagination_engine(folder, config=config, device="cpu", compile=True))
    assert (got - expected).abs().max() < 1e-4


def test_the_onnx_backend_refuses_the_joint_rollout_by_name(folder):
    # The exported denoiser takes one new frame per call; a joint rollout feeds the whole horizon.
    from ros2_vid2world.planning.visual_planner import PlannerConfig, VisualPlanner

    engine = make_imagination_engine(folder, backend="onnxruntime", threads=1)
    planner = VisualPlanner(folder, PlannerConfig(history_frames=2, horizon=2), -1.0, 1.0, engine=engine)
    with pytest.raises(ValueError, match="`rollout` 'joint' is not available with OrtImaginationEngine"):
        planner.update_config(rollout="joint")
    assert planner.config.rollout == "autoregressive"  # the planner keeps its settings
    torch_planner = VisualPlanner(folder, PlannerConfig(history_frames=2, horizon=2), -1.0, 1.0)
    torch_planner.update_config(rollout="joint")
    assert torch_planner.engine.config.rollout == "joint"
