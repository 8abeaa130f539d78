"""sim_node and planner_node as child processes of the demo, on a ROS domain of their own.

Each child runs its console script (in the bin folder of the running interpreter, else
`python -m <module>`), writes its output to a log file, starts in a session of its own (so a Ctrl-C
in the terminal reaches only the demo, which then stops the children in order), and is told by the
kernel to end if the demo dies without cleaning up.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

STOP_TIMEOUT_S = 15.0
PR_SET_PDEATHSIG = 1
MODULES = {"sim_node": "ros2_vid2world.sim.sim_node", "planner_node": "ros2_vid2world.ros.planner_node"}


class NodeFailure(RuntimeError):
    """A node died, or did not do what the demo waited for; the message says which and what."""


class WaitTimeout(NodeFailure):
    """What the demo waited for did not happen in time (the nodes are still running)."""


def demo_domain_id() -> int:
    """A ROS_DOMAIN_ID for this run (1-101, from the pid), so runs side by side do not cross."""
    return 1 + os.getpid() % 101


def child_environment(domain_id: int) -> dict[str, str]:
    """The demo's environment for a node: its own domain, localhost-only discovery, one OpenMP thread
    (two cores shared with other work: spinning OpenMP threads slow everyone down), unbuffered logs."""
    return dict(
        os.environ,
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        OMP_NUM_THREADS="1",
        PYTHONUNBUFFERED="1",
    )


def node_command(name: str) -> list[str]:
    script = Path(sys.executable).parent / name
    return [str(script)] if script.exists() else [sys.executable, "-m", MODULES[name]]


def _end_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the demo's own cleanup still stops the child
        pass


class NodeProcess:
    """One node: `params_file` (a section per node) plus `-p name:=value` overrides."""

    def __init__(self, name: str, params_file: Path, overrides: dict, log_dir: Path, domain_id: int):
        self.name = name
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{name}.log"
        arguments = []
        for key, value in overrides.items():
            # YAML flow style is what --ros-args -p parses: true, 2.0, [a, b], '' for an empty string.
            text = yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()
            arguments += ["-p", f"{key}:={text}"]
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [*node_command(name), "--ros-args", "--params-file", str(params_file), *arguments],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=child_environment(domain_id),
            start_new_session=True,
            preexec_fn=_end_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def exit_description(self) -> str | None:
        """None while running; else how it ended, e.g. 'exited with code 1' or 'was killed (SIGKILL)'."""
        code = self.process.poll()
        if code is None:
            return None
        if code < 0:
            try:
                return f"was killed ({signal.Signals(-code).name})"
            except ValueError:
                return f"was killed (signal {-code})"
        return f"exited with code {code}"

    def last_log_line(self, containing: str = "") -> str:
        """The last non-empty log line (that contains `containing`), or ''."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        matching = [line.strip() for line in lines if line.strip() and containing in line]
        return matching[-1] if matching else ""

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGINT (the nodes send their final hold and exit 0), then SIGKILL if it does not end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
