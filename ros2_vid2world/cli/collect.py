"""`vid2world collect`: record random exploratory episodes of the simulated reacher into a rosbag2."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..sim.reacher_config import ReacherConfig


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "collect",
        help="record random episodes of the simulated reacher into a rosbag2 (training data)",
        description="Drive the simulated reacher (DeepMind Control, MuJoCo) with temporally correlated "
        "random velocity commands and write camera images, joint states, commands and /clock into a "
        "rosbag2, episodes separated by 1 s gaps.",
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
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..sim.collect import collect
    config = ReacherConfig(image_size=args.size, seed=args.seed)
    # Checked before the progress bar appears; collect() checks again.
    if args.episodes < 1 or args.steps < 1:
        raise ValueError(f"--episodes and --steps must be positive. Got {args.episodes} and {args.steps}.")
    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
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
    return 0
