"""`vid2world`: one console script, one subcommand per verb. Parses, calls the library, prints."""

from __future__ import annotations

import argparse
import os
import sys

from . import bench, causalize, collect, dataset, demo, eval_bag, export_onnx, probe, replay, train

SUBCOMMANDS = (causalize, bench, export_onnx, dataset, collect, eval_bag, replay, train, probe, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vid2world", description="Vid2World world models for ROS 2 planning."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except (ValueError, FileNotFoundError, NotADirectoryError) as exc:
        # Bad input is the user's to fix: one line, no traceback (VID2WORLD_DEBUG=1 shows it).
        if os.environ.get("VID2WORLD_DEBUG"):
            raise
        print(f"vid2world {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vid2world {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
