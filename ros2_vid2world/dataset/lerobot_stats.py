"""The statistics LeRobot keeps per feature (meta/stats.json, and per episode in meta/episodes/).

Each is min, max, mean, std, count and the 1/10/50/90/99 % quantiles; a camera's are per colour channel,
in [0, 1], shaped (3, 1, 1) so that they broadcast over channel-first images, as LeRobot's are.
"""

from __future__ import annotations

import numpy as np

QUANTILES = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
# Camera statistics come from this many frames per episode at most, and from every few pixels of a large
# frame: they set a normalisation, for which a sample is as good as every pixel.
IMAGE_SAMPLES = 100
IMAGE_SIDE = 64


def vector_stats(values: np.ndarray) -> dict[str, list]:
    """[N, D] (or [N]) numbers -> each statistic as a list of D values (count: [N])."""
    values = np.asarray(values, np.float64).reshape(len(values), -1)
    stats = {
        "min": values.min(0),
        "max": values.max(0),
        "mean": values.mean(0),
        "std": values.std(0),
        **{name: np.quantile(values, q, axis=0) for name, q in QUANTILES.items()},
    }
    return {**{name: value.tolist() for name, value in stats.items()}, "count": [len(values)]}


def image_sample(frames: np.ndarray) -> np.ndarray:
    """uint8 [T, H, W, 3] -> float64 [n, 3] pixels in [0, 1]: up to IMAGE_SAMPLES frames, evenly spaced."""
    picks = np.unique(np.linspace(0, len(frames) - 1, min(len(frames), IMAGE_SAMPLES)).round().astype(int))
    step_y = max(1, frames.shape[1] // IMAGE_SIDE)
    step_x = max(1, frames.shape[2] // IMAGE_SIDE)
    return np.asarray(frames[picks, ::step_y, ::step_x], np.float64).reshape(-1, 3) / 255.0


def image_stats(pixels: np.ndarray, frames: int) -> dict[str, list]:
    """[n, 3] sampled pixels of `frames` frames -> each statistic per channel as [[[r]], [[g]], [[b]]]."""
    stats = vector_stats(pixels)
    per_channel = {name: [[[value]] for value in values] for name, values in stats.items() if name != "count"}
    return {**per_channel, "count": [frames]}


def episode_columns(stats: dict[str, dict[str, list]]) -> dict[str, list]:
    """{feature: {stat: value}} -> {"stats/<feature>/<stat>": value}, the columns of meta/episodes/."""
    return {f"stats/{key}/{name}": value for key, feature in stats.items() for name, value in feature.items()}
