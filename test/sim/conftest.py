"""Shared pieces for the sim tests: a small reacher, and `sim_node` as its own process over DDS.

ROS isolation (a ROS_DOMAIN_ID for this run, localhost-only discovery) and the probe node are the ones
test/ros uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ..ros.conftest import EVENT_TIMEOUT_S, RosProbe, ros_isolation  # noqa: F401 (fixture re-exported)

SIM_NODE_SCRIPT = Path(sys.executable).parent / "sim_node"
SIM_NODE = "/reacher_sim"


@pytest.fixture
def small_env():
    """A reacher with 16 px images (rendering is the slow part)."""
    from ros2_vid2world.sim.reacher_env import ReacherConfig, ReacherEnv

    env = ReacherEnv(ReacherConfig(image_size=16, seed=3))
    yield env
    env.close()


class SimProcess:
    """`sim_node` started as its own process with `-p name:=value` parameters; output goes to a log file."""

    def __init__(self, parameters: dict, folder: Path, name: str = "sim_node"):
        if not SIM_NODE_SCRIPT.exists():
            pytest.skip(
                f"{SIM_NODE_SCRIPT} is missing: pip install --no-deps --no-build-isolation --use-pep517 -e ."
            )
        arguments = []
        for key, value in parameters.items():
            text = str(value).lower() if isinstance(value, bool) else str(value)
            arguments += ["-p", f"{key}:={text}"]
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(SIM_NODE_SCRIPT), "--ros-args", *arguments],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )

    def output(self) -> str:
        return self.log_path.read_text()

    def interrupt(self, timeout: float = EVENT_TIMEOUT_S) -> int:
        """SIGINT, as Ctrl-C would send; the exit code."""
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(EVENT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
