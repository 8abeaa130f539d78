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
    summary.update(context)
    return summary


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


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"
