"""Image similarity for open-loop evaluation: PSNR and SSIM on uint8 RGB frames, batched."""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

# Identical images have infinite PSNR; a finite cap keeps means and JSON meaningful.
PSNR_CAP_DB = 100.0
_PEAK = 255.0


def psnr(predicted: np.ndarray, target: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, 3] pairs -> [N] PSNR in dB (peak 255), capped at PSNR_CAP_DB."""
    _check(predicted, target)
    error = (predicted.astype(np.float64) - target.astype(np.float64)) ** 2
    mse = error.reshape(len(error), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        values = 10.0 * np.log10(_PEAK**2 / mse)
    return np.minimum(values, PSNR_CAP_DB)


def ssim(predicted: np.ndarray, target: np.ndarray, sigma: float = 1.5) -> np.ndarray:
    """uint8 [N, H, W, 3] pairs -> [N] SSIM (Wang et al. 2004): Gaussian window of `sigma` pixels
    (11 taps at 1.5), K1 = 0.01, K2 = 0.03, computed per channel and averaged; 1 for identical images."""
    _check(predicted, target)
    x = predicted.astype(np.float64)
    y = target.astype(np.float64)
    c1, c2 = (0.01 * _PEAK) ** 2, (0.03 * _PEAK) ** 2

    def blur(image: np.ndarray) -> np.ndarray:
        # Only the two image axes are smoothed: frames and channels stay apart.
        return gaussian_filter(image, sigma=(0, sigma, sigma, 0), truncate=3.5, mode="reflect")

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    index = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return index.reshape(len(index), -1).mean(axis=1)


def _check(predicted: np.ndarray, target: np.ndarray) -> None:
    if predicted.shape != target.shape or predicted.ndim != 4 or predicted.shape[-1] != 3:
        raise ValueError(
            f"images must be two [N, H, W, 3] arrays of one shape. Got {predicted.shape} and {target.shape}."
        )
