import pytest
import torch

from ros2_vid2world.world_model.causal_conv import CausalTemporalConv, causal_kernel


@pytest.fixture
def kernel():
    return torch.randn(4, 3, 3, 1, 1, generator=torch.Generator().manual_seed(0))


def test_extrapolative_kernel_follows_formula(kernel):
    w_prev, w_now, w_next = kernel.unbind(2)
    causal = causal_kernel(kernel, "extrapolative")
    torch.testing.assert_close(causal[:, :, 0], torch.zeros_like(w_prev))
    torch.testing.assert_close(causal[:, :, 1], w_prev - w_next)
    torch.testing.assert_close(causal[:, :, 2], w_now + 2 * w_next)


def test_masked_kernel_drops_future_tap(kernel):
    w_prev, w_now, _ = kernel.unbind(2)
    causal = causal_kernel(kernel, "masked")
    assert torch.equal(causal[:, :, 0], torch.zeros_like(w_prev))
    assert torch.equal(causal[:, :, 1], w_prev)
    assert torch.equal(causal[:, :, 2], w_now)


def test_shift_kernel_is_unchanged(kernel):
    assert torch.equal(causal_kernel(kernel, "shift"), kernel)


def test_unknown_scheme_is_refused(kernel):
    with pytest.raises(ValueError, match="weight_transfer.*extrapolative.*Got 'mixed'"):
        causal_kernel(kernel, "mixed")


def _pair(scheme):
    torch.manual_seed(0)
    original = torch.nn.Conv3d(3, 4, (3, 1, 1), padding=(1, 0, 0))
    causal = CausalTemporalConv.like(original)
    causal.weight.data = causal_kernel(original.weight.data, scheme)
    causal.bias.data = original.bias.data.clone()
    return original, causal


def test_extrapolative_reproduces_original_on_linear_signal():
    original, causal = _pair("extrapolative")
    time = torch.arange(8.0).view(1, 1, 8, 1, 1)
    signal = torch.randn(1, 3, 1, 2, 2) + torch.randn(1, 3, 1, 2, 2) * time  # z_t = a + b t
    expected, got = original(signal), causal(signal)
    # Away from the clip edges: t >= 1 (the causal pad) and t <= F-2 (the original's zero pad).
    torch.testing.assert_close(got[:, :, 1:-1], expected[:, :, 1:-1], atol=1e-5, rtol=1e-5)
    assert not torch.allclose(got[:, :, 0], expected[:, :, 0], atol=1e-3)


@pytest.mark.parametrize("scheme", ["masked", "shift"])
def test_other_schemes_do_not_reproduce_linear_signal(scheme):
    original, causal = _pair(scheme)
    signal = torch.arange(8.0).view(1, 1, 8, 1, 1).expand(1, 3, 8, 2, 2) * 3
    assert not torch.allclose(causal(signal)[:, :, 1:-1], original(signal)[:, :, 1:-1], atol=1e-3)


def test_causal_conv_output_ignores_future_frames():
    _, causal = _pair("extrapolative")
    signal = torch.randn(2, 3, 6, 2, 2)
    changed = signal.clone()
    changed[:, :, 4:] = torch.randn(2, 3, 2, 2, 2)
    out, out_changed = causal(signal), causal(changed)
    assert torch.equal(out[:, :, :4], out_changed[:, :, :4])
    assert not torch.allclose(out[:, :, 4:], out_changed[:, :, 4:])
