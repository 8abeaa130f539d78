"""The topic and pairing options that every command reading episodes from bags takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import ACTION_SPACES


def add_bag_topic_arguments(
    parser: argparse.ArgumentParser, fps_help: str, image_topic_required: bool = True
) -> list[argparse.Action]:
    """--image-topic, --joint-topic, --action-topic, --trajectory-field, --action-space, --fps,
    --tolerance, --max-gap, --ros-distro, --msg-path. Returns the options added: a command that also
    reads other sources makes --image-topic optional and refuses the others with those sources."""
    added: list[argparse.Action] = []

    def option(*names, **settings) -> None:
        added.append(parser.add_argument(*names, **settings))

    option("--image-topic", required=image_topic_required, help="sensor_msgs/Image or CompressedImage topic")
    option("--joint-topic", help="sensor_msgs/JointState topic (joint positions per frame)")
    option(
        "--action-topic",
        help="std_msgs/Float64MultiArray or trajectory_msgs/JointTrajectory topic "
        "(default: actions are joint-position differences between frames)",
    )
    option(
        "--trajectory-field",
        choices=("positions", "velocities"),
        default="positions",
        help="which field of a JointTrajectory's first point is the action (default: positions)",
    )
    option(
        "--action-space",
        choices=ACTION_SPACES,
        help="what the actions mean (default: from a JointTrajectory's field; joint_delta for actions "
        "derived from joint positions; for a Float64MultiArray, told from how the recorded joints moved)",
    )
    option("--fps", type=float, help=fps_help)
    option("--tolerance", type=float, metavar="S", help="pairing window in s (default: half a camera period)")
    option(
        "--max-gap",
        type=float,
        metavar="S",
        help="a pause longer than this starts a new episode (default: 5 camera periods)",
    )
    return added + add_message_type_arguments(parser)


def add_message_type_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """--ros-distro and --msg-path: definitions for bags that store none (recorded before Iron)."""
    from ..bags.message_types import ROS_DISTROS

    return [
        parser.add_argument(
            "--ros-distro",
            choices=ROS_DISTROS,
            help="read a bag that stores no message definitions with this release's standard messages "
            "(default: the release that recorded it, from its metadata)",
        ),
        parser.add_argument(
            "--msg-path",
            type=Path,
            action="append",
            default=[],
            metavar="DIR",
            help="a folder with .msg/.idl files of custom message types (<package>/msg/<Name>.msg); "
            "repeatable",
        ),
    ]


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
