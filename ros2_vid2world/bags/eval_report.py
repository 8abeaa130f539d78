"""The evaluation report folder: report.json, report.md, psnr.png, ssim.png, side_by_side.gif.

Written to a staging folder beside the target and moved into place, so an interrupted run leaves no
report folder that looks complete.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from ..world_model.folder import replace_folder
from ..world_model.state_probe import OBJECT_STATES
from .open_loop_eval import OpenLoopResult
from .planner_agreement import AgreementResult
from .report_images import line_plot, side_by_side_gif


def summarise(open_loop: OpenLoopResult, agreement: AgreementResult | None, context: dict) -> dict:
    """The summary object (`--json` prints it; report.json holds it plus per-start figures)."""
    summary = {
        "frames_evaluated": int(open_loop.psnr.size),
        "starts": len(open_loop.starts),
        "psnr": _mean(open_loop.psnr),
        "ssim": _mean(open_loop.ssim),
        "copy_last_psnr": _mean(open_loop.copy_last_psnr),
        "copy_last_ssim": _mean(open_loop.copy_last_ssim),
        "planner": None if agreement is None else agreement.summary(),
    }
    if open_loop.shuffled_psnr is not None:  # the same model and noise with other starts' actions
        summary["shuffled_actions_psnr"] = _mean(open_loop.shuffled_psnr)
        summary["shuffled_actions_ssim"] = _mean(open_loop.shuffled_ssim)
    if open_loop.state_error is not None:  # the model folder has a state probe
        summary["state_error"] = state_error_summary(open_loop)
        split = object_motion_split(open_loop)
        if split is not None:  # the probe reads an object's pose
            summary["object_moved_or_still"] = split
        turns = object_turn_summary(open_loop)
        if turns is not None:
            summary["object_turns"] = turns
    summary.update(context)
    return summary


def state_error_summary(open_loop: OpenLoopResult) -> dict:
    """Per state: its unit and, per horizon step, the median error of the state read off the imagined
    frames (and off the last context frame, and off frames imagined with other starts' actions)."""
    def median(errors: np.ndarray | None, index: int) -> list[float] | None:
        if errors is None:
            return None
        return [round(float(v), 3) for v in np.median(errors[..., index], axis=0)]

    return {
        name: {
            "unit": unit,
            "imagined": median(open_loop.state_error, index),
            "copy_last": median(open_loop.copy_last_state_error, index),
            "shuffled_actions": median(open_loop.shuffled_state_error, index),
        }
        for index, (name, unit) in enumerate(zip(open_loop.state_names, open_loop.state_units, strict=True))
    }


# An object "moved" in a step when the probe reads it this far from the last context frame: above the
# probe's own noise on a still block (its median error is 2-3 mm and 3 degrees on the push task).
MOVED_MM, MOVED_DEG = 10.0, 5.0


def object_motion_split(open_loop: OpenLoopResult) -> dict | None:
    """The object's state errors apart for the steps where it moved and where it stood still: a median
    over all steps is mostly still objects, where copying the last frame is nearly exact, and hides how
    well the model predicts a push. Per step: the share that moved, and per object state the median
    imagined and copy-last errors over each group (None where a group is empty). None when the probe
    does not read an object's pose (x and y in mm, yaw in degrees)."""
    if not set(OBJECT_STATES) <= set(open_loop.state_names):
        return None
    index = {name: open_loop.state_names.index(name) for name in OBJECT_STATES}
    units = {name: open_loop.state_units[i] for name, i in index.items()}
    if units != {"object_x": "mm", "object_y": "mm", "object_yaw": "deg"}:
        return None
    copied = open_loop.copy_last_state_error
    x, y, yaw = (copied[..., index[name]] for name in OBJECT_STATES)
    moved = (np.hypot(x, y) > MOVED_MM) | (yaw > MOVED_DEG)  # [S, H]

    def medians(errors: np.ndarray, state: int, mask: np.ndarray) -> list[float | None]:
        return [
            round(float(np.median(errors[mask[:, step], step, state])), 3) if mask[:, step].any() else None
            for step in range(mask.shape[1])
        ]

    groups = {}
    for group, mask in (("moved", moved), ("still", ~moved)):
        groups[group] = {
            name: {
                "unit": units[name],
                "imagined": medians(open_loop.state_error, i, mask),
                "copy_last": medians(copied, i, mask),
            }
            for name, i in index.items()
        }
    return {
        "moved_when": {"position_mm": MOVED_MM, "yaw_deg": MOVED_DEG},
        "moved_share": [round(float(v), 3) for v in moved.mean(axis=0)],
        **groups,
    }


# An object "turned" in a step when the probe reads it this far round from the last context frame (as
# MOVED_DEG); the direction of a smaller turn is within the probe's noise.
TURNED_DEG = 5.0


def object_turn_summary(open_loop: OpenLoopResult) -> dict | None:
    """How well the model predicts the object's turns, per step, over the starts where the recorded
    frames show it turned more than TURNED_DEG: how many, the share whose imagined turn goes the same way
    (0.5 is a coin's), and the median imagined / recorded turn (1 is right, 0 is a model that never
    turns the object, as a blurred mean of both directions does). A yaw error alone cannot tell a model
    that turns the object the wrong way from one that does not turn it. None without object turns."""
    if open_loop.object_turns is None:
        return None
    recorded, imagined = open_loop.object_turns[..., 0], open_loop.object_turns[..., 1]
    turned = np.abs(recorded) > TURNED_DEG  # [S, H]

    same_direction, turn_scale = [], []
    for step, mask in enumerate(turned.T):
        if not mask.any():
            same_direction.append(None)
            turn_scale.append(None)
            continue
        seen, imagined_turn = recorded[mask, step], imagined[mask, step]
        same_direction.append(round(float(np.mean(np.sign(imagined_turn) == np.sign(seen))), 3))
        turn_scale.append(round(float(np.median(imagined_turn / seen)), 3))
    return {
        "turned_when_deg": TURNED_DEG,
        "turned": [int(v) for v in turned.sum(axis=0)],
        "same_direction": same_direction,
        "turn_scale": turn_scale,
    }


def _mean(values: np.ndarray) -> list[float]:
    """[S, H] -> per-horizon-step means, rounded for reading."""
    return [round(float(v), 4) for v in values.mean(axis=0)]


def write_report(
    out: str | os.PathLike, summary: dict, open_loop: OpenLoopResult, agreement: AgreementResult | None
) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        details = {
            **summary,
            "per_start": {
                "starts": [list(s) for s in open_loop.starts],
                "psnr": open_loop.psnr.round(4).tolist(),
                "ssim": open_loop.ssim.round(4).tolist(),
            },
        }
        if open_loop.state_error is not None:  # [S, H, J] in the units of summary["state_error"]
            details["per_start"]["state_error"] = open_loop.state_error.round(3).tolist()
        if open_loop.object_turns is not None:  # [S, H, 2] degrees: recorded, imagined
            details["per_start"]["object_turns"] = open_loop.object_turns.round(2).tolist()
        if agreement is not None:
            details["planner_per_start"] = {
                "starts": [list(s) for s in agreement.starts],
                "planned": agreement.planned.round(6).tolist(),
                "recorded": agreement.recorded.round(6).tolist(),
            }
        (staging / "report.json").write_text(json.dumps(details, indent=2) + "\n")
        (staging / "report.md").write_text(markdown(summary))
        steps = len(summary["psnr"])
        line_plot(
            staging / "psnr.png", "PSNR vs horizon", "dB",
            {"world model": summary["psnr"], "copy last frame": summary["copy_last_psnr"]},
        )  # fmt: skip
        line_plot(
            staging / "ssim.png", "SSIM vs horizon", "index",
            {"world model": summary["ssim"], "copy last frame": summary["copy_last_ssim"]},
        )  # fmt: skip
        side_by_side_gif(
            staging / "side_by_side.gif",
            open_loop.recorded_examples,
            open_loop.imagined_examples,
            context=open_loop.recorded_examples.shape[1] - steps,
        )
        replace_folder(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def markdown(summary: dict) -> str:
    inputs = [summary["dataset"]] if "dataset" in summary else summary.get("bags", [])  # see bag_evaluation
    lines = [
        "# Offline evaluation",
        "",
        f"Model `{summary.get('model')}` on {', '.join(f'`{b}`' for b in inputs)}: "
        f"{summary['starts']} starting points, context {summary.get('context')} frames, "
        f"horizon {len(summary['psnr'])} frames at {summary.get('fps')} fps "
        f"({summary['frames_evaluated']} imagined frames compared).",
        "",
        "## Open-loop prediction",
        "",
        "| step | PSNR (dB) | copy-last PSNR | SSIM | copy-last SSIM |",
        "|---:|---:|---:|---:|---:|",
    ]
    for step, values in enumerate(
        zip(
            summary["psnr"],
            summary["copy_last_psnr"],
            summary["ssim"],
            summary["copy_last_ssim"],
            strict=True,
        )
    ):
        lines.append(
            f"| {step + 1} | {values[0]:.2f} | {values[1]:.2f} | {values[2]:.3f} | {values[3]:.3f} |"
        )
    lines += ["", "![PSNR](psnr.png) ![SSIM](ssim.png)", "", "![recorded | imagined](side_by_side.gif)", ""]
    if "state_error" in summary:
        lines += state_error_markdown(summary["state_error"])
    if "object_moved_or_still" in summary:
        lines += object_split_markdown(summary["object_moved_or_still"])
    if "object_turns" in summary:
        lines += object_turns_markdown(summary["object_turns"])
    planner = summary.get("planner")
    lines += ["## Planner agreement", ""]
    if planner is None:
        lines.append("Not run (`--planner-starts 0`).")
    else:
        per_dim = ", ".join(f"{v:.4f}" for v in planner["per_dim_abs_error"])
        lines += [
            f"Goal: the recorded frame {len(summary['psnr'])} steps ahead; {planner['starts']} decisions.",
            "",
            "| measure | value |",
            "|---|---:|",
            f"| L2 error of the planner's first action | {planner['first_action_l2_error']:.4f} |",
            f"| L2 error of the mean recorded action (baseline) | {planner['mean_action_l2_error']:.4f} |",
            f"| cosine similarity | {_fmt(planner['cosine_similarity'])} |",
            f"| absolute error per dimension | {per_dim} |",
        ]
    return "\n".join(lines) + "\n"


def state_error_markdown(errors: dict) -> list[str]:
    """The state-error section: one table row per state and horizon step."""
    shuffled = any(entry["shuffled_actions"] is not None for entry in errors.values())
    lines = [
        "## State read off the imagined frames",
        "",
        "The model folder's state probe reads each imagined frame and the recorded frame it stands for; "
        "median absolute difference per step (the copy-last column reads the last context frame instead"
        + ("; the shuffled column, frames imagined with another start's actions)." if shuffled else ")."),
        "",
        "| state | step | imagined | copy-last |" + (" shuffled actions |" if shuffled else ""),
        "|---|---:|---:|---:|" + ("---:|" if shuffled else ""),
    ]
    for name, entry in errors.items():
        unit = entry["unit"]
        for step, (imagined, copied) in enumerate(zip(entry["imagined"], entry["copy_last"], strict=True)):
            row = f"| {name} | {step + 1} | {imagined:.1f} {unit} | {copied:.1f} {unit} |"
            if shuffled:
                row += f" {entry['shuffled_actions'][step]:.1f} {unit} |"
            lines.append(row)
    return lines + [""]


def object_split_markdown(split: dict) -> list[str]:
    """The object's errors for the steps where it moved and where it stood still."""
    when = split["moved_when"]
    shares = ", ".join(f"{100 * share:.0f}%" for share in split["moved_share"])
    lines = [
        "## The object, moved or still",
        "",
        f"A step counts as moved when the probe reads the object more than {when['position_mm']:g} mm or "
        f"{when['yaw_deg']:g} degrees from the last context frame (steps 1, 2, ...: {shares} moved). Median "
        "errors per group: copy-last is near 0 for a still object, so the moved rows say how well the model "
        "predicts a push.",
        "",
        "| state | step | moved: imagined | moved: copy-last | still: imagined | still: copy-last |",
        "|---|---:|---:|---:|---:|---:|",
    ]

    def cell(value, unit) -> str:
        return "-" if value is None else f"{value:.1f} {unit}"

    for name, moved in split["moved"].items():
        still, unit = split["still"][name], moved["unit"]
        for step in range(len(moved["imagined"])):
            lines.append(
                f"| {name} | {step + 1} | {cell(moved['imagined'][step], unit)} | "
                f"{cell(moved['copy_last'][step], unit)} | {cell(still['imagined'][step], unit)} | "
                f"{cell(still['copy_last'][step], unit)} |"
            )
    return lines + [""]


def object_turns_markdown(turns: dict) -> list[str]:
    """Whether the model turns the object the way it turned, and by how much."""
    lines = [
        "## The object's turns",
        "",
        f"Starts where the recorded frames show the object turned more than {turns['turned_when_deg']:g} "
        "degrees since the last context frame: the share whose imagined turn goes the same way (0.5 is a "
        "coin's) and the median imagined / recorded turn (1 is right; 0 is a model that leaves the object "
        "unturned).",
        "",
        "| step | turned | same direction | turn scale |",
        "|---:|---:|---:|---:|",
    ]
    for step, count in enumerate(turns["turned"]):
        same, scale = turns["same_direction"][step], turns["turn_scale"][step]
        cells = ("-", "-") if same is None else (f"{same:.2f}", f"{scale:.2f}")
        lines.append(f"| {step + 1} | {count} | {cells[0]} | {cells[1]} |")
    return lines + [""]


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
