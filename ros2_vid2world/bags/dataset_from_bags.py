"""Recorded bags -> a training dataset folder (`ros2_vid2world.dataset`).

Every bag is read and checked (`plan_bags`) before the DatasetWriter is opened; the writer publishes
the folder atomically at the end, so a failure at any point leaves no dataset that looks complete.
"""

from __future__ import annotations

import logging
import os

from ..dataset import DatasetWriter
from .bag_episodes import EpisodeOptions, decode_episodes, plan_bags

LOGGER = logging.getLogger(__name__)


def dataset_from_bags(
    bags: list[str | os.PathLike], out: str | os.PathLike, options: EpisodeOptions, progress: bool = False
) -> dict:
    """Write the dataset folder `out` from `bags`; returns a summary (episodes, frames, per-bag counts)."""
    planned = plan_bags(bags, options, progress)
    action_space, how = planned.action_space()
    if action_space is None:
        LOGGER.warning(
            f"the action space of {planned.action_source} is not recorded: {how}; pass --action-space "
            "(joint_velocity, joint_position or joint_delta) so that a model trained on it can command "
            "a robot."
        )
    topics = {"image": options.image_topic, "joints": options.joint_topic, "actions": options.action_topic}
    if options.object_pose_topic:
        topics["object_pose"] = options.object_pose_topic
    writer = DatasetWriter(
        out, fps=planned.fps, joint_names=planned.joint_names, object_pose_source=options.object_pose_topic
    )
    with writer:
        size = decode_episodes(planned, writer, progress)
        path = writer.close(
            sources=planned.sources(),
            topics=topics,
            action_source=planned.action_source,
            control_period=planned.control_period,
            action_space=action_space,
            pairing=planned.pairing(),
        )
    return {
        "out": str(path),
        "episodes": planned.episodes,
        "frames": planned.frames,
        "fps": planned.fps,
        "image_size": list(size),
        "action_dim": planned.action_dim,
        "joint_names": planned.joint_names,
        "action_source": planned.action_source,
        "control_period": planned.control_period,
        "action_space": action_space,
        "action_space_source": how,
        "object_pose_topic": options.object_pose_topic,
        "tolerance_s": planned.tolerance_ns / 1e9,
        "max_gap_s": planned.max_gap_ns / 1e9,
        "bags": planned.sources(),
    }
