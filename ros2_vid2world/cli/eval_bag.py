"""`vid2world eval-bag`: offline evaluation of a world model and planner on recorded bags."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .bag_topic_arguments import add_bag_topic_arguments, episode_options
from .torch_threads import set_torch_threads


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "eval-bag",
        help="open-loop prediction and planner agreement of a world model on recorded bags",
        description="From many starting points, give the model K recorded frames and the recorded actions, "
        "imagine H frames and compare them with the camera (PSNR, SSIM, against copying the last frame); "
        "plan toward the recorded frame H steps ahead and compare the first action with the recorded one. "
        "Writes report.json, report.md, psnr.png, ssim.png and side_by_side.gif to --out.",
    )
    parser.add_argument("bags", nargs="+", type=Path, metavar="BAG", help="rosbag2 folders")
    parser.add_argument("--model", type=Path, required=True, help="world-model folder")
    parser.add_argument("--out", type=Path, required=True, help="report folder to write")
    add_bag_topic_arguments(parser, fps_help="the rate the model steps at (default: the camera's)")
    parser.add_argument(
        "--context", type=int, default=4, metavar="K", help="recorded frames given (default 4)"
    )
    parser.add_argument("--horizon", type=int, default=4, metavar="H", help="frames imagined (default 4)")
    parser.add_argument("--starts", type=int, default=32, help="starting points, at most (default 32)")
    parser.add_argument("--denoise-steps", type=int, default=10, help="sampler steps per frame (default 10)")
    parser.add_argument("--guidance-scale", type=float, default=2.5, help="action guidance (default 2.5)")
    parser.add_argument(
        "--planner-starts",
        type=int,
        default=8,
        help="decisions for planner agreement; 0 skips it (default 8)",
    )
    parser.add_argument("--population", type=int, default=32, help="planner CEM population (default 32)")
    parser.add_argument("--iterations", type=int, default=2, help="planner CEM iterations (default 2)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0 = torch's default")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bags.open_loop_eval import OpenLoopConfig
    from ..bags.planner_agreement import AgreementConfig

    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
    if args.planner_starts < 0:
        raise ValueError(f"--planner-starts must be >= 0. Got {args.planner_starts}.")
    options = episode_options(args)
    open_loop = OpenLoopConfig(
        context=args.context,
        horizon=args.horizon,
        starts=args.starts,
        denoise_steps=args.denoise_steps,
        guidance_scale=args.guidance_scale,
        seed=args.seed,
    )
    agreement = AgreementConfig(
        population=args.population,
        iterations=args.iterations,
        guidance_scale=args.guidance_scale,
        seed=args.seed,
    )
    set_torch_threads(args.threads)
    from ..bags.bag_evaluation import evaluate_bag

    summary = evaluate_bag(
        args.bags,
        args.model,
        args.out,
        options,
        open_loop,
        agreement,
        planner_starts=args.planner_starts,
        progress=sys.stderr.isatty(),
    )
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
    planner = summary["planner"]
    if planner is not None:
        print(
            f"  planner first action: L2 error {planner['first_action_l2_error']:.4f} "
            f"(mean recorded action: {planner['mean_action_l2_error']:.4f}) "
            f"over {planner['starts']} decisions"
        )
    return 0
