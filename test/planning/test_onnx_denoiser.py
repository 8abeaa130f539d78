import copy

import pytest
import torch
from diffusers import UNetSpatioTemporalConditionModel

from ros2_vid2world.planning.onnx_denoiser import CachedFrameDenoiser, DenoiserLayout
from ros2_vid2world.planning.onnx_engine import make_session
from ros2_vid2world.planning.onnx_export import example_inputs, export_denoiser, save_denoiser_onnx
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.frame_cache import FrameCache
from ros2_vid2world.world_model.presets import BASE_PRESETS


@pytest.fixture(scope="module", params=["tiny", "image_to_video_scaled"])
def model(request):
    """The tiny preset, and the same with an image-to-video input (first frame in extra channels) and
    embedding scales (FiLM; the push model's layout)."""
    torch.manual_seed(0)
    tiny = request.param == "tiny"
    base = UNetSpatioTemporalConditionModel(**{**BASE_PRESETS["tiny"], "in_channels": 3 if tiny else 6})
    model = causalize(base, action_dim=2, prediction_type="v_prediction", embedding_scale=not tiny).eval()
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    for layer in getattr(model, "embedding_scales", []):
        torch.nn.init.normal_(layer.weight, std=0.1)
    return model


@pytest.fixture(scope="module")
def session(model):
    return make_session(export_denoiser(model), device="cpu")


def frames(batch, count, seed):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, count, 3, 16, 16, generator=g),
        torch.randint(0, 1000, (batch, count), generator=g),
        torch.randn(batch, count, 2, generator=g),
        torch.rand(batch, count, generator=g) > 0.3,
    )


@torch.no_grad()
def filled_cache(model, history, count, committed):
    """A cache filled the way the engine fills it: a shared history of batch 1, then frames of batch N."""
    cache = FrameCache()
    model.forward_cached(*frames(1, history, seed=1), cache, commit=True)
    for i in range(committed):
        model.forward_cached(*frames(count, 1, seed=2 + i), cache, commit=True)
    return cache


@pytest.mark.parametrize("history, committed", [(1, 0), (3, 2)])
@pytest.mark.parametrize("guided", [False, True])
@torch.no_grad()
def test_flat_cache_denoiser_matches_forward_cached(model, history, committed, guided):
    # Tolerances are float32 rounding (the scaled model's features are larger): in float64 the flat
    # denoiser and forward_cached agree within 1e-14; a wiring error is off by O(1).
    count = 3
    cache = filled_cache(model, history, count, committed)
    layout = DenoiserLayout.of(model)
    new_frame = frames(2 * count if guided else count, 1, seed=9)
    reference = cache.fork()
    expected = model.forward_cached(*new_frame, reference, commit=True)

    outputs = CachedFrameDenoiser(model, layout)(*new_frame, *layout.flatten(cache, count).values())
    assert len(outputs) == 1 + 2 * len(layout.attention) + len(layout.convs)
    torch.testing.assert_close(outputs[0], expected, atol=1e-4, rtol=1e-4)
    new_entries = []
    for layer, _ in layout.attention:
        new_entries.extend(entry[..., -1:, :] for entry in reference.attention[layer][-1])
    new_entries.extend(reference.conv_inputs[layer][:, :, -1:] for layer, _ in layout.convs)
    for got, want in zip(outputs[1:], new_entries, strict=True):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_layout_names_every_cached_layer(model):
    layout = DenoiserLayout.of(model)
    inputs = layout.input_shapes()
    assert inputs["sample"] == ["M", 1, 3, 16, 16] and inputs["led_to_action"] == ["M", 1, 2]
    assert ("first_frame" in inputs) == (model.unet.config.in_channels == 6)
    assert len(layout.attention) == 4 and len(layout.convs) == 16
    assert inputs["past_key.3"] == ["N", 64, 4, "P", 16] and inputs["past_conv.0"] == ["N", 32, 2, 16, 16]


@pytest.mark.parametrize("count, past_frames, guided", [(3, 2, True), (4, 7, False), (1, 1, True)])
@torch.no_grad()
def test_onnx_matches_torch_at_other_sizes_than_traced(model, session, count, past_frames, guided):
    layout = DenoiserLayout.of(model)
    inputs = example_inputs(layout, count=count, guided=guided, past_frames=past_frames, seed=4)
    expected = CachedFrameDenoiser(model, layout)(*inputs.values())
    got = session.run(None, {name: tensor.numpy() for name, tensor in inputs.items()})
    assert [o.name for o in session.get_outputs()] == list(layout.output_shapes())
    assert got[0].shape == (2 * count if guided else count, 1, 3, 16, 16)
    for name, g, e in zip(layout.output_shapes(), got, expected, strict=True):
        torch.testing.assert_close(torch.from_numpy(g), e, atol=1e-4, rtol=1e-4, msg=name)


def test_export_refuses_what_it_cannot_write(model, tmp_path):
    with pytest.raises(ValueError, match=r"`opset` must be in \[14, 20\]. Got 9."):
        export_denoiser(model, opset=9)
    with pytest.raises(ValueError, match="export needs an fp32 CPU model"):
        export_denoiser(copy.deepcopy(model).half())
    with pytest.raises(ValueError, match="directory '.*missing' does not exist"):
        save_denoiser_onnx(model, tmp_path / "missing" / "denoiser.onnx")
    assert list(tmp_path.iterdir()) == []
