"""`vid2world collect`: record random exploratory episodes of the simulated reacher, or of the pushing task
(--task push), into a rosbag2; or action-free video of another DeepMind Control domain (--domain)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..sim.reacher_config import TASKS, ReacherConfig
from .setting_options import add_setting_options, from_args


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "collect",
        help="record random episodes of the simulated reacher or pushing task into a rosbag2 (training data),"
        " or action-free video of another DeepMind Control domain (--domain) into a dataset folder",
        description="Drive the simulated reacher (DeepMind Control, MuJoCo) with temporally correlated "
        "random velocity commands, or the pushing task's pusher with pushes of the block (--task push), and "
        "write camera images, joint states, commands, /clock (and, pushing, the block's pose on "
        "/object_pose) into a rosbag2, episodes separated by 1 s gaps.",
    )
    parser.add_argument("--episodes", type=int, required=True, help="number of episodes")
    parser.add_argument("--steps", type=int, required=True, help="control steps per episode")
    parser.add_argument("--out", type=Path, required=True, help="rosbag2 folder to write")
    parser.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3")
    parser.add_argument(
        "--size",
        type=int,
        default=ReacherConfig.image_size,
        help="camera image side in pixels (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the episodes and commands")
    add_setting_options(parser, ReacherConfig, names=["control_period"])
    parser.add_argument(
        "--task",
        help=f"the simulated task: {', '.join(TASKS)} (default {ReacherConfig.task}); with --domain, the "
        "domain's task (default: the suite's first for the domain)",
    )
    other = parser.add_argument_group(
        "other domains (action-free video for pre-training: --out is then a dataset folder, not a bag)"
    )
    other.add_argument("--domain", help="a DeepMind Control domain (cheetah, walker, finger, cartpole, ...)")
    other.add_argument("--camera", type=int, default=0, help="its camera index (default 0)")
    other.add_argument(
        "--frame-period", type=float, default=0.1, metavar="S",
        help="simulated seconds between frames (default 0.1, the reacher's control period)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..sim.collect import collect
    task = args.task if args.task is not None and args.domain is None else ReacherConfig.task
    config = from_args(
        ReacherConfig, args, ["control_period"], image_size=args.size, seed=args.seed, task=task
    )
    # Checked before the progress bar appears; collect() checks again.
    if args.episodes < 1 or args.steps < 1:
        raise ValueError(f"--episodes and --steps must be positive. Got {args.episodes} and {args.steps}.")
    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
    if args.domain is not None:
        return _domain_video(args)
    if args.camera:
        raise ValueError("--camera applies to --domain only.")
    from ..sim.sim_tasks import make_env

    make_env(config).close()  # the task's own checks (a control period of whole physics steps) first
    with tqdm(total=args.episodes * args.steps, desc="collect", unit="step", file=sys.stderr) as bar:
        summary = collect(
            args.out,
            episodes=args.episodes,
            steps=args.steps,
            config=config,
            storage=args.storage,
            force=args.force,
            on_step=bar.update,
        )
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        print(
            f"wrote {summary.path} ({summary.storage}): {summary.episodes} episodes x {summary.steps} steps, "
            f"{summary.frames} frames of {summary.image_size} px, {summary.bytes / 1e6:.1f} MB "
            f"in {summary.seconds:.1f} s ({summary.seconds / summary.episodes:.2f} s per episode)"
        )
        if summary.object_moving_share is not None:
            print(f"  the block moved in {summary.object_moving_share:.0%} of the steps")
    return 0


def _domain_video(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..sim.domain_video import domain_environment, record_domain_video

    domain_environment(args.domain, args.task, args.episodes, args.steps, args.size, args.camera, args.seed,
                       args.frame_period)  # checked before the progress bar appears
    with tqdm(total=args.episodes * args.steps, desc=f"collect {args.domain}", unit="frame",
              file=sys.stderr) as bar:
        summary = record_domain_video(
            args.out, args.domain, episodes=args.episodes, steps=args.steps, size=args.size, task=args.task,
            camera=args.camera, seed=args.seed, frame_period=args.frame_period, on_step=bar.update,
        )
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {summary['out']}: {summary['domain']}/{summary['task']}, {summary['episodes']} "
              f"episodes, {summary['frames']} frames of {summary['image_size']} px at {summary['fps']:g} "
              f"fps, no actions, in {summary['seconds']:.1f} s")
    return 0
