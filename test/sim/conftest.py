"""Shared pieces for the sim tests: a small reacher, and `sim_node` as its own process over DDS.

ROS isolation (a ROS_DOMAIN_ID for this run, localhost-only discovery) comes from test/conftest.py; the
probe node is the one test/ros uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from ..ros.conftest import EVENT_TIMEOUT_S, LoggedNodeProcess, RosProbe  # noqa: F401

SIM_NODE_SCRIPT = Path(sys.executable).parent / "sim_node"
SIM_NODE = "/reacher_sim"


@pytest.fixture
def small_env():
    """A reacher with 16 px images (rendering is the slow part)."""
    from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv

    env = ReacherEnv(ReacherConfig(image_size=16, seed=3))
    yield env
    env.close()


class SimProcess(LoggedNodeProcess):
    """`sim_node` started as its own process with `-p name:=value` parameters; output goes to a log file."""

    def __init__(self, parameters: dict, folder: Path, name: str = "sim_node"):
        arguments = ["--ros-args"]
        for key, value in parameters.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            arguments += ["-p", f"{key}:={text}"]
        super().__init__(SIM_NODE_SCRIPT, arguments, folder, name, dict(os.environ, PYTHONUNBUFFERED="1"))
