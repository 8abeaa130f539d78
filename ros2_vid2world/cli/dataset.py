"""`vid2world dataset`: build a training dataset folder from rosbag2 files or a LeRobot dataset, or export
one as a LeRobot dataset."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..dataset.lerobot_format import DEFAULT_ACTION_KEY, DEFAULT_CAMERA_KEY, DEFAULT_STATE_KEY
from .bag_topic_arguments import episode_options
from .episode_sources import add_optional_bag_arguments, check_bag_options, refuse_options

USAGE = """%(prog)s BAG [BAG ...] --out DS --image-topic TOPIC [bag options] [--size HxW]
                         [--object-pose-topic TOPIC]
       %(prog)s --lerobot DIR --out DS [--camera-key KEY] [--state-key KEY] [--action-key KEY]
                         [--episodes LIST] [--action-space SPACE] [--size HxW]
       %(prog)s DS --to-lerobot OUT [--camera-key KEY] [--task TEXT]
       (each also takes --force and --json)"""
IMPORT_OPTIONS = ("state_key", "action_key", "episodes")
EXPORT_OPTIONS = ("task",)


def image_size(text: str) -> tuple[int, int]:
    """'HxW' -> (H, W), for --size."""
    try:
        height, width = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be HEIGHTxWIDTH, e.g. 64x64. Got {text!r}.") from None
    if height < 1 or width < 1:
        raise argparse.ArgumentTypeError(f"height and width must be >= 1. Got {text!r}.")
    return height, width


def episode_indices(text: str) -> tuple[int, ...]:
    """'0-4,7' -> (0, 1, 2, 3, 4, 7), for --episodes."""
    indices = set()
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            first, last = int(first), int(last or first)
            if first < 0 or last < first:
                raise ValueError
            indices.update(range(first, last + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be episode indices and ranges, e.g. 0-4,7. Got {text!r}."
        ) from None
    return tuple(sorted(indices))


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dataset",
        usage=USAGE,
        help="build a training dataset from rosbag2 recordings or a LeRobot dataset; export one to LeRobot",
        description="From bags: pair each camera frame with the nearest joint state and action, split "
        "episodes at pauses, resample to a fixed rate. From a LeRobot dataset (v2.0, v2.1, v3.0): its "
        "episodes, camera frames, state and actions as they are. Either way the dataset folder is written "
        "atomically. --to-lerobot writes a dataset folder as a LeRobot v3.0 dataset.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        metavar="BAG",
        help="rosbag2 folders (with --to-lerobot: the dataset folder to export)",
    )
    parser.add_argument("--out", type=Path, help="dataset folder to write (from bags or --lerobot)")
    add_optional_bag_arguments(parser, fps_help="dataset frame rate (default: the camera's median rate)")
    parser.add_argument("--size", type=image_size, metavar="HxW", help="frame size (default: the camera's)")
    parser.add_argument(
        "--object-pose-topic",
        metavar="TOPIC",
        help="geometry_msgs/PoseStamped of an object (e.g. /object_pose of `vid2world collect --task push`): "
        "the dataset keeps its x, y and yaw per frame (object_poses.npy), for evaluations and probes",
    )
    lerobot = parser.add_argument_group("LeRobot datasets")
    lerobot.add_argument("--lerobot", type=Path, metavar="DIR", help="read this local LeRobot dataset folder")
    lerobot.add_argument(
        "--to-lerobot", type=Path, metavar="OUT", help="write the dataset folder as a LeRobot v3.0 dataset"
    )
    lerobot.add_argument(
        "--camera-key",
        metavar="KEY",
        help="--lerobot: the video (or image) feature to read (default: the only one); --to-lerobot: the "
        f"video feature to write (default: {DEFAULT_CAMERA_KEY})",
    )
    lerobot.add_argument("--state-key", metavar="KEY",
                         help=f"the joint positions (default: {DEFAULT_STATE_KEY} when present, else none)")
    lerobot.add_argument("--action-key", metavar="KEY", help=f"the actions (default: {DEFAULT_ACTION_KEY})")
    lerobot.add_argument("--episodes", type=episode_indices, metavar="LIST",
                         help="the episode indices to read, e.g. 0-4,7 (default: all)")
    lerobot.add_argument("--task", help="--to-lerobot: what every episode does (default: the folder's name)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.add_argument("--force", action="store_true", help="replace the folder to write if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.lerobot is not None and args.to_lerobot is not None:
        raise ValueError("give --lerobot (read a LeRobot dataset) or --to-lerobot (write one), not both.")
    if args.to_lerobot is not None:
        summary = _to_lerobot(args)
    elif args.lerobot is not None:
        summary = _from_lerobot(args)
    else:
        summary = _from_bags(args)
    if args.json:
        print(json.dumps(summary))
        return 0
    if args.to_lerobot is not None:
        print(
            f"wrote {summary['out']}: LeRobot {summary['codebase_version']}, {summary['episodes']} episodes, "
            f"{summary['frames']} frames at {summary['fps']} fps, camera {summary['camera_key']}, "
            f"{summary['video_files']} video file(s)"
        )
        return 0
    height, width = summary["image_size"]
    print(
        f"wrote {summary['out']}: {summary['episodes']} episodes, {summary['frames']} frames at "
        f"{summary['fps']:g} fps, {height}x{width}, action_dim={summary['action_dim']} "
        f"({summary['action_source']})"
    )
    for source in summary.get("bags", []):
        print(
            f"  {source['path']} ({source['storage']}): {source['camera_messages']} camera messages, "
            f"{source['unpaired_frames']} unpaired, {source['episodes']} episodes"
        )
    print(f"  action space: {summary['action_space'] or 'not recorded'} ({summary['action_space_source']})")
    if summary.get("object_pose_topic"):
        print(f"  object poses: {summary['object_pose_topic']} (x, y, yaw per frame)")
    return 0


def _writable(out: Path | None, flag: str, force: bool) -> Path:
    if out is None:
        raise ValueError(f"{flag} is required: the folder to write.")
    if out.exists() and not force:
        raise ValueError(f"{flag} {str(out)!r} already exists; pass --force to replace it.")
    return out


def _from_bags(args: argparse.Namespace) -> dict:
    from ..bags.dataset_from_bags import dataset_from_bags

    if not args.inputs:
        raise ValueError("give rosbag2 folders, --lerobot DIR, or a dataset folder with --to-lerobot OUT.")
    refuse_options(args, ("camera_key", *IMPORT_OPTIONS, *EXPORT_OPTIONS), "to bags (see --lerobot)")
    check_bag_options(args, None)
    out = _writable(args.out, "--out", args.force)
    options = episode_options(args, size=args.size, object_pose_topic=args.object_pose_topic)
    return dataset_from_bags(args.inputs, out, options, sys.stderr.isatty())


def _from_lerobot(args: argparse.Namespace) -> dict:
    from ..dataset.lerobot_import import LeRobotImport, dataset_from_lerobot

    if args.inputs:
        paths = ", ".join(str(path) for path in args.inputs)
        raise ValueError(f"--lerobot reads one folder; BAG arguments do not apply. Got {paths}.")
    refuse_options(args, (*EXPORT_OPTIONS, "object_pose_topic"), "to --lerobot")
    check_bag_options(args, "--lerobot", allowed=("action_space",))
    out = _writable(args.out, "--out", args.force)
    given = {
        "camera_key": args.camera_key,
        "state_key": args.state_key,
        "action_key": args.action_key,
        "episodes": args.episodes,
        "size": args.size,
        "action_space": args.action_space,
    }
    options = LeRobotImport(**{name: value for name, value in given.items() if value is not None})
    return dataset_from_lerobot(args.lerobot, out, options, progress=sys.stderr.isatty())


def _to_lerobot(args: argparse.Namespace) -> dict:
    from ..dataset.lerobot_export import LeRobotExport, lerobot_from_dataset

    if len(args.inputs) != 1:
        raise ValueError(f"--to-lerobot exports one dataset folder; got {len(args.inputs)}.")
    if args.out is not None:
        raise ValueError("--to-lerobot OUT names the folder to write; --out does not apply.")
    refuse_options(args, ("size", "object_pose_topic", *IMPORT_OPTIONS), "to --to-lerobot")
    check_bag_options(args, "--to-lerobot")
    out = _writable(args.to_lerobot, "--to-lerobot", args.force)
    given = {"camera_key": args.camera_key, "task": args.task}
    options = LeRobotExport(**{name: value for name, value in given.items() if value is not None})
    return lerobot_from_dataset(args.inputs[0], out, options)
