"""`vid2world replay`: publish a bag into ROS 2 with its recorded timing and /clock (needs rclpy)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replay",
        help="publish a bag into ROS 2 with recorded timing and /clock, optionally recording the outputs",
        description="Like `ros2 bag play --clock`: the bag's messages are published as recorded (raw CDR) "
        "at their recorded spacing, with /clock for use_sim_time. --record writes the other topics of the "
        "ROS graph (a planner node's commands, diagnostics) into a new bag, stamped on the replay clock.",
    )
    parser.add_argument("bag", type=Path, metavar="BAG", help="rosbag2 folder")
    parser.add_argument("--rate", type=float, default=1.0, help="playback speed factor (default 1)")
    parser.add_argument("--loop", action="store_true", help="start again at the end (until Ctrl-C)")
    parser.add_argument(
        "--loops", type=int, default=0, help="with --loop: stop after this many (0 = no limit)"
    )
    parser.add_argument("--topics", nargs="+", default=[], metavar="TOPIC", help="replay only these topics")
    parser.add_argument(
        "--clock-rate", type=float, default=40.0, help="/clock messages per second (default 40; 0 = none)"
    )
    parser.add_argument("--delay", type=float, default=0.0, metavar="S", help="wait before playing")
    parser.add_argument(
        "--wait-for-subscribers",
        type=float,
        default=0.0,
        metavar="S",
        help="wait up to S seconds for every replayed topic to have a subscriber",
    )
    parser.add_argument(
        "--record", type=Path, metavar="OUT", help="bag to write the graph's other topics into"
    )
    parser.add_argument("--record-topics", nargs="+", default=[], metavar="TOPIC", help="record only these")
    parser.add_argument("--record-storage", choices=("mcap", "sqlite3"), default="mcap")
    parser.add_argument(
        "--record-tail", type=float, default=1.0, metavar="S", help="keep recording after the end (default 1)"
    )
    parser.add_argument("--force", action="store_true", help="replace --record OUT if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..bags.replay import ReplayConfig, replay_bag

    if args.record is not None and args.record.exists() and not args.force:
        raise ValueError(f"--record {str(args.record)!r} already exists; pass --force to replace it.")
    config = ReplayConfig(
        rate=args.rate,
        topics=tuple(args.topics),
        clock_rate_hz=args.clock_rate,
        loop=args.loop,
        max_loops=args.loops,
        delay_s=args.delay,
        wait_for_subscribers_s=args.wait_for_subscribers,
        record=None if args.record is None else str(args.record),
        record_topics=tuple(args.record_topics),
        record_storage=args.record_storage,
        record_tail_s=args.record_tail,
    )
    summary = replay_bag(args.bag, config)
    published = ", ".join(f"{topic}: {count}" for topic, count in summary.published.items())
    state = "interrupted" if summary.interrupted else "done"
    print(f"replay {state}: {summary.loops} loop(s); published {published}", flush=True)
    if summary.record_path:
        recorded = (
            ", ".join(f"{topic}: {count}" for topic, count in (summary.recorded or {}).items()) or "nothing"
        )
        print(f"recorded {summary.record_path}: {recorded}", flush=True)
    return 0
