"""PSNR and SSIM: exact on known errors, 1 / capped for identical images, lower for unrelated ones."""

import numpy as np
import pytest

from ros2_vid2world.bags.image_metrics import PSNR_CAP_DB, psnr, ssim


def frames(seed, count=3, size=(16, 16)):
    return np.random.default_rng(seed).integers(0, 256, (count, *size, 3), dtype=np.uint8)


def test_identical_images_give_the_cap_and_ssim_one():
    a = frames(0)
    np.testing.assert_array_equal(psnr(a, a), [PSNR_CAP_DB] * 3)
    np.testing.assert_allclose(ssim(a, a), 1.0, atol=1e-12)


@pytest.mark.parametrize("offset", [1, 10, 50])
def test_psnr_of_a_uniform_offset_is_the_formula(offset):
    a = np.full((2, 8, 8, 3), 100, np.uint8)
    b = a + np.uint8(offset)
    np.testing.assert_allclose(psnr(b, a), 20 * np.log10(255 / offset))


def test_ssim_orders_similarity_and_is_symmetric():
    a = frames(1)
    noisy = np.clip(a.astype(int) + np.random.default_rng(2).integers(-20, 21, a.shape), 0, 255).astype(
        np.uint8
    )
    unrelated = frames(3)
    close, far = ssim(noisy, a), ssim(unrelated, a)
    assert (close > far).all() and (close < 1).all() and (np.abs(far) < 0.2).all()
    np.testing.assert_allclose(ssim(a, noisy), close)


def test_ssim_ignores_a_brightness_change_less_than_psnr_does():
    # SSIM's structure term: a flat offset keeps structure, so SSIM stays high where PSNR drops.
    ramp = np.tile(np.linspace(0, 200, 16).astype(np.uint8)[None, :, None], (16, 1, 3))[None]
    assert ssim(ramp + np.uint8(20), ramp)[0] > 0.9 and psnr(ramp + np.uint8(20), ramp)[0] < 23


def test_mismatched_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\[N, H, W, 3\]"):
        psnr(frames(0, 2), frames(0, 3))
