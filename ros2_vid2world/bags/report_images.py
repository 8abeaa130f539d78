"""The pictures of an evaluation report, drawn with Pillow (no plotting dependency): metric-vs-horizon
line plots (PNG) and a recorded | imagined side-by-side animation (GIF)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40)]


def line_plot(
    path: Path, title: str, ylabel: str, series: dict[str, list[float]], size: tuple[int, int] = (480, 320)
) -> None:
    """One line per series against horizon step 1..H, with axes, ticks and a legend; saved as PNG."""
    width, height = size
    left, right, top, bottom = 56, 16, 28, 40
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    values = np.array([v for line in series.values() for v in line], dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    if math.isclose(low, high):
        low, high = low - 1.0, high + 1.0
    pad = 0.08 * (high - low)
    low, high = low - pad, high + pad
    steps = max(len(line) for line in series.values())

    def x_of(step: int) -> float:
        return left + (step - 1) / max(steps - 1, 1) * (width - left - right)

    def y_of(value: float) -> float:
        return top + (high - value) / (high - low) * (height - top - bottom)

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for tick in np.linspace(low, high, 5):
        y = y_of(tick)
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((4, y - 6), f"{tick:.3g}", fill="black", font=font)
    for step in range(1, steps + 1):
        x = x_of(step)
        draw.line([x, height - bottom, x, height - bottom + 4], fill="black")
        draw.text((x - 3, height - bottom + 6), str(step), fill="black", font=font)
    draw.text((width // 2 - 40, height - 16), "horizon step", fill="black", font=font)
    draw.text((left, 8), f"{title} ({ylabel})", fill="black", font=font)
    for number, (name, line) in enumerate(series.items()):
        colour = COLOURS[number % len(COLOURS)]
        points = [(x_of(i + 1), y_of(v)) for i, v in enumerate(line)]
        if len(points) > 1:
            draw.line(points, fill=colour, width=2)
        for x, y in points:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        legend_y = top + 6 + 14 * number
        draw.line([width - right - 110, legend_y + 6, width - right - 92, legend_y + 6], fill=colour, width=2)
        draw.text((width - right - 88, legend_y), name, fill="black", font=font)
    image.save(path, format="PNG")


def side_by_side_gif(
    path: Path, recorded: np.ndarray, imagined: np.ndarray, context: int, scale: int = 8, frame_ms: int = 300
) -> None:
    """recorded uint8 [E, K+H, h, w, 3] and imagined [E, H, h, w, 3] -> an animated GIF.

    Each example plays its K context frames (recorded on both sides) and then its H predicted frames:
    recorded on the left, imagined on the right, with a red bar under the imagined side while it is
    imagining. Frames are enlarged `scale` times (nearest neighbour) so small model images are visible.
    """
    pictures = []
    for example in range(len(recorded)):
        for step in range(recorded.shape[1]):
            left = recorded[example, step]
            predicting = step >= context
            right = imagined[example, step - context] if predicting else left
            pictures.append(_pair(left, right, predicting, scale))
    first, *rest = pictures
    first.save(path, format="GIF", save_all=True, append_images=rest, duration=frame_ms, loop=0)


def _pair(left: np.ndarray, right: np.ndarray, predicting: bool, scale: int) -> Image.Image:
    height, width = left.shape[:2]
    gap, bar = 4, 4
    canvas = Image.new("RGB", (2 * width * scale + gap, height * scale + bar), "white")
    canvas.paste(
        Image.fromarray(left).resize((width * scale, height * scale), Image.Resampling.NEAREST), (0, 0)
    )
    canvas.paste(
        Image.fromarray(right).resize((width * scale, height * scale), Image.Resampling.NEAREST),
        (width * scale + gap, 0),
    )
    if predicting:
        ImageDraw.Draw(canvas).rectangle(
            [width * scale + gap, height * scale, 2 * width * scale + gap, height * scale + bar],
            fill=(214, 39, 40),
        )
    return canvas
