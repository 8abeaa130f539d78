"""`vid2world eval-bag`: offline evaluation of a world model and planner on recorded bags (or a dataset)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..bags.open_loop_eval import OpenLoopConfig
from ..bags.planner_agreement import AgreementConfig
from .bag_topic_arguments import episode_options
from .episode_sources import add_optional_bag_arguments, check_bag_options
from .setting_options import add_setting_options, from_args
from .torch_threads import set_torch_threads

# The open-loop options (guidance and seed serve the planner too); the planner's own search options.
OPEN_LOOP = [
    "context", "horizon", "starts", "denoise_steps", "guidance_scale", "batch_size", "seed",
    "shuffled_actions",
]
AGREEMENT = ["method", "population", "elites", "iterations", "denoise_steps"]
AGREEMENT_FLAGS = {"denoise_steps": "planner_denoise_steps", "method": "planner_method"}


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval-bag",
        help="open-loop prediction and planner agreement of a world model on recorded bags (or a dataset)",
        usage="%(prog)s (BAG [BAG ...] --image-topic TOPIC [bag options] | --dataset DS) --model MODEL "
        "--out OUT [options]",
        description="From many starting points, give the model K recorded frames and the recorded actions, "
        "imagine H frames and compare them with the camera (PSNR, SSIM, against copying the last frame); "
        "plan toward the recorded frame H steps ahead and compare the first action with the recorded one. "
        "Writes report.json, report.md, psnr.png, ssim.png and side_by_side.gif to --out. The episodes come "
        "from bags, or from a dataset folder (--dataset, e.g. one imported from LeRobot).",
    )
    parser.add_argument("bags", nargs="*", type=Path, metavar="BAG", help="rosbag2 folders")
    parser.add_argument("--dataset", type=Path, metavar="DS", help="a dataset folder instead of bags")
    parser.add_argument("--model", type=Path, required=True, help="world-model folder")
    parser.add_argument("--out", type=Path, required=True, help="report folder to write")
    add_optional_bag_arguments(parser, fps_help="the rate the model steps at (default: the camera's)")
    add_setting_options(parser.add_argument_group("open-loop prediction"), OpenLoopConfig, OPEN_LOOP,
                        defaults={"context": None, "horizon": None})
    planner = parser.add_argument_group("planner agreement")
    planner.add_argument(
        "--planner-starts",
        type=int,
        default=8,
        help="decisions for planner agreement; 0 skips it (default 8)",
    )
    add_setting_options(planner, AgreementConfig, AGREEMENT, flags=AGREEMENT_FLAGS)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
    if args.planner_starts < 0:
        raise ValueError(f"--planner-starts must be >= 0. Got {args.planner_starts}.")
    if args.dataset is not None and args.bags:
        raise ValueError("give rosbag2 folders or --dataset, not both.")
    if args.dataset is None and not args.bags:
        raise ValueError("give rosbag2 folders, or a dataset folder with --dataset.")
    check_bag_options(args, None if args.dataset is None else "--dataset")
    options = episode_options(args) if args.dataset is None else None
    open_loop = from_args(OpenLoopConfig, args, OPEN_LOOP)
    agreement = from_args(
        AgreementConfig, args, AGREEMENT, flags=AGREEMENT_FLAGS,
        guidance_scale=args.guidance_scale, seed=args.seed,
    )
    set_torch_threads(args.threads)
    from ..bags.bag_evaluation import evaluate_bag, evaluate_dataset

    evaluation = {"planner_starts": args.planner_starts, "progress": sys.stderr.isatty()}
    if args.dataset is not None:
        summary = evaluate_dataset(args.dataset, args.model, args.out, open_loop, agreement, **evaluation)
    else:
        summary = evaluate_bag(args.bags, args.model, args.out, options, open_loop, agreement, **evaluation)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(
        f"wrote {summary['out']}: {summary['starts']} starts, {summary['frames_evaluated']} frames evaluated"
    )
    print("  step  PSNR  copy-last   SSIM  copy-last")
    for step, values in enumerate(
        zip(
            summary["psnr"],
            summary["copy_last_psnr"],
            summary["ssim"],
            summary["copy_last_ssim"],
            strict=True,
        )
    ):
        print(f"  {step + 1:4d} {values[0]:5.2f} {values[1]:10.2f} {values[2]:6.3f} {values[3]:10.3f}")
    for name, entry in summary.get("state_error", {}).items():
        shuffled = entry["shuffled_actions"]
        print(
            f"  {name} read off imagined frames, median error per step ({entry['unit']}): "
            + " ".join(f"{v:.1f}" for v in entry["imagined"])
            + "; copy-last " + " ".join(f"{v:.1f}" for v in entry["copy_last"])
            + ("" if shuffled is None else "; shuffled actions " + " ".join(f"{v:.1f}" for v in shuffled))
        )
    turns = summary.get("object_turns")
    if turns is not None:
        def cells(values):
            return " ".join("-" if v is None else f"{v:.2f}" for v in values)

        print(
            f"  object turns (> {turns['turned_when_deg']:g} deg recorded, "
            + " ".join(str(n) for n in turns["turned"]) + " starts per step): same direction "
            + cells(turns["same_direction"]) + "; imagined / recorded turn " + cells(turns["turn_scale"])
        )
    planner = summary["planner"]
    if planner is not None:
        print(
            f"  planner first action: L2 error {planner['first_action_l2_error']:.4f} "
            f"(mean recorded action: {planner['mean_action_l2_error']:.4f}) "
            f"over {planner['starts']} decisions"
        )
    return 0
