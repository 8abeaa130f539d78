"""`vid2world dataset`: turn recorded rosbag2 files into a training dataset folder."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .bag_topic_arguments import add_bag_topic_arguments, episode_options


def image_size(text: str) -> tuple[int, int]:
    """'HxW' -> (H, W), for --size."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be HEIGHTxWIDTH, e.g. 64x64. Got {text!r}.") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"height and width must be >= 1. Got {text!r}.")
    return height, width


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dataset",
        help="build a training dataset from rosbag2 recordings (sqlite3 or mcap)",
        description="Pair each camera frame with the nearest joint state and action, split episodes at "
        "pauses, resample to a fixed rate and write a dataset folder atomically.",
    )
    parser.add_argument("bags", nargs="+", type=Path, metavar="BAG", help="rosbag2 folders")
    parser.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    add_bag_topic_arguments(parser, fps_help="dataset frame rate (default: the camera's median rate)")
    parser.add_argument("--size", type=image_size, metavar="HxW", help="frame size (default: the camera's)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bags.dataset_from_bags import dataset_from_bags

    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
    options = episode_options(args, size=args.size)
    summary = dataset_from_bags(args.bags, args.out, options, progress=sys.stderr.isatty())
    if args.json:
        print(json.dumps(summary))
        return 0
    height, width = summary["image_size"]
    print(
        f"wrote {summary['out']}: {summary['episodes']} episodes, {summary['frames']} frames at "
        f"{summary['fps']:g} fps, {height}x{width}, action_dim={summary['action_dim']} "
        f"({summary['action_source']})"
    )
    for source in summary["bags"]:
        print(
            f"  {source['path']} ({source['storage']}): {source['camera_messages']} camera messages, "
            f"{source['unpaired_frames']} unpaired, {source['episodes']} episodes"
        )
    return 0
