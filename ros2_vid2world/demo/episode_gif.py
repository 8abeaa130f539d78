"""One GIF per episode: real camera | the plan's final imagined frame | goal, side by side, per step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .episode_record import EpisodeRecord

PANEL = 128  # pixels per panel side; images are scaled with nearest neighbour, so pixels stay visible
BAR = 16  # caption bars above and below the panels
FRAME_MS = 300
LAST_FRAME_MS = 1500
BACKGROUND = (255, 255, 255)
EMPTY_PANEL = (200, 200, 200)
LABELS = {"learned": "imagined plan (end)", "oracle": "simulated plan (end)", "random": "(no plan)"}


def _panel(image: np.ndarray | None) -> Image.Image:
    if image is None:
        return Image.new("RGB", (PANEL, PANEL), EMPTY_PANEL)
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).resize((PANEL, PANEL), Image.Resampling.NEAREST)


def episode_frames(record: EpisodeRecord) -> list[Image.Image]:
    """One picture per step 0..record.steps. A missing camera frame or plan repeats the previous one."""
    font = ImageFont.load_default()
    goal = _panel(record.goal)
    frames: list[Image.Image] = []
    camera = plan = None
    for step in range(record.steps + 1):
        if step < len(record.frames) and record.frames[step] is not None:
            camera = record.frames[step]
        if step < len(record.imagined) and record.imagined[step] is not None:
            plan = record.imagined[step]
        canvas = Image.new("RGB", (3 * PANEL, PANEL + 2 * BAR), BACKGROUND)
        for column, image in enumerate((_panel(camera), _panel(plan), goal)):
            canvas.paste(image, (column * PANEL, BAR))
        draw = ImageDraw.Draw(canvas)
        distance = record.distances[step] if step < len(record.distances) else float("nan")
        reached = record.success_step is not None and step >= record.success_step
        caption = (
            f"{record.policy} | episode {record.index + 1} | step {step} | "
            f"distance {100 * distance:.1f} cm{' | SUCCESS' if reached else ''}"
        )
        draw.text((4, 2), caption, fill=(0, 120, 0) if reached else (0, 0, 0), font=font)
        for column, label in enumerate(("camera", LABELS.get(record.policy, "plan"), "goal")):
            draw.text((column * PANEL + 4, PANEL + BAR + 2), label, fill=(0, 0, 0), font=font)
        frames.append(canvas)
    return frames


def write_episode_gif(record: EpisodeRecord, path: Path) -> Path:
    frames = episode_frames(record)
    durations = [FRAME_MS] * (len(frames) - 1) + [LAST_FRAME_MS]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0)
    return path
