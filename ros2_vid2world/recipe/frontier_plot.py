"""A table step's plot of closed-loop rows (Pillow, as the demo report's): success rate with its 95%
interval against the median decision time, one labelled point per row. Up and to the left is better."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 820, 440
LEFT, TOP, RIGHT, BOTTOM = 60, 60, 560, 390  # the axes; the legend goes right of them
COLORS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
          (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def write_frontier_plot(
    points: dict[str, tuple[float, float, tuple[float, float] | None]], path: Path, title: str
) -> Path:
    """points: per row label, (median decision s, success rate, its 95% interval or None)."""
    if not points:
        raise ValueError("a frontier plot needs at least one closed-loop row with a median decision time.")
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    slowest = max(seconds for seconds, _, _ in points.values())
    x_top = _nice_ceiling(slowest * 1.1)
    low = min(min(rate, *(interval or (rate,))) for _, rate, interval in points.values())
    y_low = max(0.0, math.floor(low * 10) / 10 - 0.1)

    def at(seconds: float, rate: float) -> tuple[float, float]:
        return (LEFT + seconds / x_top * (RIGHT - LEFT),
                BOTTOM - (rate - y_low) / (1.0 - y_low) * (BOTTOM - TOP))

    draw.text((8, 8), title, fill=(0, 0, 0), font=font)
    draw.line([(LEFT, TOP), (LEFT, BOTTOM), (RIGHT, BOTTOM)], fill=(0, 0, 0))
    for k in range(6):  # ticks: success on the left, seconds below
        rate = y_low + k / 5 * (1.0 - y_low)
        _, y = at(0.0, rate)
        draw.line([(LEFT - 3, y), (LEFT, y)], fill=(0, 0, 0))
        draw.text((LEFT - 32, y - 6), f"{rate:.2f}", fill=(0, 0, 0), font=font)
        seconds = k / 5 * x_top
        x, _ = at(seconds, y_low)
        draw.line([(x, BOTTOM), (x, BOTTOM + 3)], fill=(0, 0, 0))
        draw.text((x - 10, BOTTOM + 6), f"{seconds:.2g}", fill=(0, 0, 0), font=font)
    draw.text((RIGHT - 150, BOTTOM + 20), "median decision (s)", fill=(0, 0, 0), font=font)
    draw.text((8, TOP - 26), "success rate (95% interval)", fill=(0, 0, 0), font=font)
    for index, (label, (seconds, rate, interval)) in enumerate(points.items()):
        color = COLORS[index % len(COLORS)]
        x, y = at(seconds, rate)
        if interval is not None:
            bar = [(x, at(seconds, interval[0])[1]), (x, at(seconds, interval[1])[1])]
            draw.line(bar, fill=color, width=2)
        draw.ellipse([x - 5, y - 5, x + 5, y + 5], fill=color)
        legend_y = TOP + index * 18
        draw.ellipse([RIGHT + 16, legend_y + 2, RIGHT + 24, legend_y + 10], fill=color)
        draw.text((RIGHT + 30, legend_y), f"{label[:38]}", fill=(0, 0, 0), font=font)
    image.save(path)
    return path


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above `value` (> 0)."""
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)
