"""The topic and pairing options that every command reading episodes from bags takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import ACTION_SPACES


def add_bag_topic_arguments(parser: argparse.ArgumentParser, fps_help: str) -> None:
    """--image-topic, --joint-topic, --action-topic, --trajectory-field, --fps, --tolerance, --max-gap."""
    parser.add_argument("--image-topic", required=True, help="sensor_msgs/Image or CompressedImage topic")
    parser.add_argument("--joint-topic", help="sensor_msgs/JointState topic (joint positions per frame)")
    parser.add_argument(
        "--action-topic",
        help="std_msgs/Float64MultiArray or trajectory_msgs/JointTrajectory topic "
        "(default: actions are joint-position differences between frames)",
    )
    parser.add_argument(
        "--trajectory-field",
        choices=("positions", "velocities"),
        default="positions",
        help="which field of a JointTrajectory's first point is the action (default: positions)",
    )
    parser.add_argument(
        "--action-space",
        choices=ACTION_SPACES,
        help="what the actions mean (default: from a JointTrajectory's field; joint_delta for actions "
        "derived from joint positions; for a Float64MultiArray, told from how the recorded joints moved)",
    )
    parser.add_argument("--fps", type=float, help=fps_help)
    parser.add_argument(
        "--tolerance",
        type=float,
        metavar="S",
        help="pairing window in seconds (default: half a camera period)",
    )
    parser.add_argument(
        "--max-gap",
        type=float,
        metavar="S",
        help="a pause longer than this starts a new episode (default: 5 camera periods)",
    )
    add_message_type_arguments(parser)


def add_message_type_arguments(parser: argparse.ArgumentParser) -> None:
    """--ros-distro and --msg-path: definitions for bags that store none (recorded before Iron)."""
    from ..bags.message_types import ROS_DISTROS

    parser.add_argument(
        "--ros-distro",
        choices=ROS_DISTROS,
        help="read a bag that stores no message definitions with this release's standard messages "
        "(default: the release that recorded it, from its metadata)",
    )
    parser.add_argument(
        "--msg-path",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a folder with .msg/.idl files of custom message types (<package>/msg/<Name>.msg); repeatable",
    )


def message_types(args: argparse.Namespace):
    from ..bags.message_types import MessageTypes

    return MessageTypes(ros_distro=args.ros_distro, msg_paths=tuple(args.msg_path))


def episode_options(args: argparse.Namespace, **extra):
    """The `EpisodeOptions` those arguments describe (`extra`: e.g. size=)."""
    from ..bags.bag_episodes import EpisodeOptions

    return EpisodeOptions(
        image_topic=args.image_topic,
        joint_topic=args.joint_topic,
        action_topic=args.action_topic,
        fps=args.fps,
        tolerance_s=args.tolerance,
        max_gap_s=args.max_gap,
        trajectory_field=args.trajectory_field,
        action_space=args.action_space,
        message_types=message_types(args),
        **extra,
    )
