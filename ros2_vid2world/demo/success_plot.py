"""The report's plot (Pillow; matplotlib is not a dependency): success rates as bars, and the mean
distance to the goal per step for each policy (the fingertip's to the target, or the block's centre to its
goal pose), with the success threshold on it."""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLORS = {"learned": (31, 119, 180), "random": (127, 127, 127), "oracle": (44, 160, 44)}
WIDTH, HEIGHT = 760, 340
MARGIN = 40


def mean_distance_curve(distances: list[list[float]], steps: int) -> list[float]:
    """Mean over episodes of the distance after each step 0..steps; an episode that ended (success, or
    a shorter budget) keeps its last distance."""
    curves = [(d + [d[-1]] * (steps + 1 - len(d)))[: steps + 1] for d in distances if d]
    if not curves:
        return []
    return [sum(curve[k] for curve in curves) / len(curves) for k in range(steps + 1)]


def write_plot(
    rates: dict[str, float | None],
    distances: dict[str, list[list[float]]],
    steps: int,
    success_radius_m: float | None,
    path: Path,
    what: tuple[str, str] = ("mean distance to target (m) per step", "success radius"),
) -> Path:
    """what: the curves' title and the threshold's label (the push task's differ from the reacher's)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    _bars(draw, font, rates, (MARGIN, MARGIN, 250, HEIGHT - MARGIN))
    _curves(draw, font, distances, steps, success_radius_m, (320, MARGIN, WIDTH - 20, HEIGHT - MARGIN), what)
    image.save(path)
    return path


def _bars(draw, font, rates, box) -> None:
    left, top, right, bottom = box
    draw.text((left, top - 28), "success rate", fill=(0, 0, 0), font=font)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0))
    for value in (0.0, 0.5, 1.0):
        y = bottom - value * (bottom - top)
        draw.text((left - 26, y - 6), f"{value:.1f}", fill=(0, 0, 0), font=font)
        draw.line([(left - 3, y), (left, y)], fill=(0, 0, 0))
    slot = (right - left) / len(COLORS)
    for i, policy in enumerate(COLORS):
        x0 = left + i * slot + slot * 0.2
        x1 = left + (i + 1) * slot - slot * 0.2
        rate = rates.get(policy)
        if rate is not None:
            y = bottom - rate * (bottom - top)
            draw.rectangle([x0, min(y, bottom - 1), x1, bottom], fill=COLORS[policy])
            draw.text((x0, y - 14), f"{rate:.2f}", fill=(0, 0, 0), font=font)
        else:
            draw.text((x0, bottom - 14), "not run", fill=(0, 0, 0), font=font)
        draw.text((x0, bottom + 4), policy, fill=(0, 0, 0), font=font)


def _curves(draw, font, distances, steps, success_radius_m, box, what: tuple[str, str]) -> None:
    left, top, right, bottom = box
    curves = {policy: mean_distance_curve(distances.get(policy, []), steps) for policy in COLORS}
    values = [v for curve in curves.values() for v in curve if math.isfinite(v)]
    highest = max(values + [success_radius_m or 0.0, 1e-3])
    draw.text((left, top - 28), what[0], fill=(0, 0, 0), font=font)
    draw.line([(left, top), (left, bottom), (right, bottom)], fill=(0, 0, 0))
    draw.text((left - 30, top - 6), f"{highest:.2f}", fill=(0, 0, 0), font=font)
    draw.text((left - 30, bottom - 6), "0", fill=(0, 0, 0), font=font)
    draw.text((right - 40, bottom + 4), f"step {steps}", fill=(0, 0, 0), font=font)

    def point(k: int, value: float) -> tuple[float, float]:
        return left + k / max(steps, 1) * (right - left), bottom - value / highest * (bottom - top)

    if success_radius_m is not None:
        y = point(0, success_radius_m)[1]
        for x in range(int(left), int(right), 8):
            draw.line([(x, y), (x + 4, y)], fill=(200, 0, 0))
        draw.text((left + 10, y - 14), what[1], fill=(200, 0, 0), font=font)
    for row, (policy, curve) in enumerate(curves.items()):
        if len(curve) > 1:
            draw.line([point(k, v) for k, v in enumerate(curve)], fill=COLORS[policy], width=2)
        draw.text((left + 230 + 60 * row, top - 28), policy, fill=COLORS[policy], font=font)  # legend
