import os

import onnx
import onnxruntime
import pytest
import torch

from ros2_vid2world.planning.backends import make_imagination_engine
from ros2_vid2world.planning.imagination import ImaginationEngine
from ros2_vid2world.planning.onnx_engine import OrtImaginationEngine, execution_providers, physical_cores
from ros2_vid2world.planning.onnx_export import export_denoiser
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from ros2_vid2world.world_model.sampler import SamplerConfig

GPU = any(
    p in onnxruntime.get_available_providers() for p in ("CUDAExecutionProvider", "TensorrtExecutionProvider")
)


def tiny_model(action_dim=2, seed=0):
    """As in test_imagination: v-prediction, action embedding randomised so that candidates differ."""
    model = causalize(
        base_unet_from_preset("tiny", seed=seed), action_dim=action_dim, prediction_type="v_prediction"
    )
    torch.manual_seed(3)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return tiny_model()


@pytest.fixture(scope="module")
def onnx_file(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "denoiser.onnx"
    path.write_bytes(export_denoiser(model))
    return path


def problem(past=4, count=3, horizon=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(1, past, 3, 16, 16, generator=g),
        torch.randn(1, past - 1, 2, generator=g),
        torch.randn(count, horizon, 2, generator=g),
    )


def imagine(engine, history, history_actions, candidates, seed=11):
    generator = torch.Generator().manual_seed(seed)
    engine.set_history(history, history_actions, generator)
    return engine.imagine(candidates, generator)


@pytest.mark.parametrize("past", [4, 1])
def test_ort_engine_imagines_the_torch_engines_frames(model, onnx_file, past):
    config = SamplerConfig(num_inference_steps=3, guidance_scale=2.5, guidance_rescale=0.3)
    scheduler = make_scheduler("v_prediction", rescale_betas_zero_snr=True)
    history, history_actions, candidates = problem(past=past)
    expected = imagine(ImaginationEngine(model, scheduler, config), history, history_actions, candidates)
    engine = make_imagination_engine(
        model, scheduler, config, backend="onnxruntime", onnx_path=onnx_file, device="cpu"
    )
    assert isinstance(engine, OrtImaginationEngine) and engine.providers == ["CPUExecutionProvider"]
    got = imagine(engine, history, history_actions, candidates)
    assert got.shape == expected.shape == (3, 4, 3, 16, 16)
    assert expected.abs().max() > 0.5 and (expected[0] - expected[1]).abs().max() > 1e-2
    assert (got - expected).abs().max() < 1e-3
    # The shared history is not disturbed by a rollout.
    engine.imagine(candidates * 3, torch.Generator().manual_seed(2))
    assert torch.equal(
        engine.imagine(candidates, torch.Generator().manual_seed(5)),
        engine.imagine(candidates, torch.Generator().manual_seed(5)),
    )


def not_a_denoiser(path):
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize(
    "other, message",
    [
        (
            lambda: tiny_model(action_dim=3),
            r"input 'led_to_action' should be \['M', 1, 3\], the file has \['M', 1, 2\]",
        ),
        (lambda: tiny_model(seed=1), "was exported from different weights than this model"),
    ],
)
def test_onnx_file_of_another_model_is_refused(onnx_file, other, message):
    scheduler = make_scheduler("v_prediction", rescale_betas_zero_snr=True)
    with pytest.raises(ValueError, match=message) as error:
        OrtImaginationEngine(other(), scheduler, onnx_model=onnx_file, device="cpu")
    assert "\n" not in str(error.value) and str(onnx_file) in str(error.value)


def test_files_that_are_not_denoisers_are_refused(model, tmp_path):
    scheduler = make_scheduler("v_prediction", rescale_betas_zero_snr=True)
    cases = [
        (tmp_path / "missing.onnx", "does not exist"),
        (not_a_denoiser(tmp_path / "identity.onnx"), "is not a vid2world denoiser export"),
    ]
    (tmp_path / "garbage.onnx").write_bytes(b"not onnx at all")
    cases.append((tmp_path / "garbage.onnx", "could not be loaded by onnxruntime"))
    for path, message in cases:
        with pytest.raises(ValueError, match=message):
            OrtImaginationEngine(model, scheduler, onnx_model=path, device="cpu")


def test_providers_are_what_this_onnxruntime_offers():
    assert execution_providers("cpu") == ["CPUExecutionProvider"]
    auto = execution_providers("auto")
    assert auto[-1] == "CPUExecutionProvider" and (len(auto) > 1) == GPU
    with pytest.raises(ValueError, match=r"`device` must be one of \['auto', 'cpu', 'cuda'\]. Got 'gpu'."):
        execution_providers("gpu")
    if not GPU:
        with pytest.raises(ValueError, match="device 'cuda' needs onnxruntime-gpu"):
            execution_providers("cuda")
    assert 1 <= physical_cores() <= os.cpu_count()
