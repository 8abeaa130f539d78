"""Shared pieces for the ROS tests: the node as a process, and a probe node.

Every DDS test talks to a real `planner_node` process over Fast DDS; run isolation and the tiny model
folder come from test/conftest.py.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

NODE_SCRIPT = Path(sys.executable).parent / "planner_node"
NODE = "/vid2world_planner"
# Bounded waits: generous because the CPU is shared, never a fixed sleep standing in for an assertion.
STARTUP_TIMEOUT_S = 90.0
EVENT_TIMEOUT_S = 30.0


from ..conftest import TINY_PLANNER  # noqa: E402,F401 (the tiny planner, re-exported for test/ros)


class LoggedNodeProcess:
    """A node's console script run as its own process, all output to `<folder>/<name>.log`."""

    def __init__(
        self,
        script: Path,
        arguments: list[str],
        folder: Path,
        name: str,
        env: dict[str, str],
        sigint_ignored: bool = False,
    ):
        if not script.exists():
            pytest.skip(f"{script} is missing: pip install --no-deps --no-build-isolation --use-pep517 -e .")
        self.log_path = folder / f"{name}.log"
        self._log = self.log_path.open("w")
        # sigint_ignored: started the way a non-interactive shell starts a background job.
        ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None
        self.process = subprocess.Popen(
            [str(script), *arguments], stdout=self._log, stderr=subprocess.STDOUT, env=env, preexec_fn=ignore
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


class NodeProcess(LoggedNodeProcess):
    """`planner_node` started as its own process with a params file; output goes to a log file."""

    def __init__(
        self,
        parameters: dict,
        folder: Path,
        name: str,
        ros_args: tuple[str, ...] = (),
        sigint_ignored: bool = False,
    ):
        params_file = folder / f"{name}.yaml"
        params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": parameters}}))
        # One torch thread: two cores are shared with other work, and oversubscribed OpenMP crawls.
        env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
        arguments = ["--ros-args", "--params-file", str(params_file), *ros_args]
        super().__init__(NODE_SCRIPT, arguments, folder, name, env, sigint_ignored)


class RosProbe:
    """The test side: an rclpy node in its own context that publishes, collects and calls services.

    Nothing spins in the background; `spin_until` spins this node until a condition holds or a timeout.
    """

    def __init__(self, name: str):
        import rclpy
        from rclpy.executors import SingleThreadedExecutor

        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)

    def collect(self, msg_type, topic: str, qos=10) -> list:
        """A list that fills with (time.monotonic(), message) as messages arrive."""
        received: list = []
        self.node.create_subscription(
            msg_type, topic, lambda msg: received.append((time.monotonic(), msg)), qos
        )
        return received

    def every(self, period_s: float, callback: Callable[[], None]) -> None:
        self.node.create_timer(period_s, callback)

    def spin_until(self, condition: Callable[[], bool], timeout: float = EVENT_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.executor.spin_once(timeout_sec=0.05)
        return True

    def spin_for(self, seconds: float) -> None:
        self.spin_until(lambda: False, seconds)

    def call(self, srv_type, name: str, request, timeout: float = EVENT_TIMEOUT_S):
        client = self.node.create_client(srv_type, name)
        try:
            assert self.spin_until(client.service_is_ready, timeout), f"service {name} never appeared"
            future = client.call_async(request)
            assert self.spin_until(future.done, timeout), f"service {name} did not answer"
            return future.result()
        finally:
            self.node.destroy_client(client)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


def image_message(pixels, encoding: str = "rgb8", stamp=None):
    """uint8 [H, W, C] -> sensor_msgs/Image without padding."""
    from sensor_msgs.msg import Image

    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0)
    msg.step = pixels.shape[1] * pixels.shape[2] * pixels.dtype.itemsize
    msg.data = pixels.tobytes()
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def diagnostic_values(msg) -> dict[str, str]:
    return {item.key: item.value for item in msg.status[0].values}


def set_parameter(probe: RosProbe, name: str, value, node: str = NODE):
    """Set one parameter through the node's ~/set_parameters service; the SetParametersResult."""
    from rcl_interfaces.srv import SetParameters
    from rclpy.parameter import Parameter

    request = SetParameters.Request(parameters=[Parameter(name, value=value).to_parameter_msg()])
    return probe.call(SetParameters, f"{node}/set_parameters", request).results[0]


def lifecycle_state(probe: RosProbe, node: str = NODE, timeout: float = EVENT_TIMEOUT_S) -> str:
    """The label of the node's current lifecycle state, through ~/get_state."""
    from lifecycle_msgs.srv import GetState

    return probe.call(GetState, f"{node}/get_state", GetState.Request(), timeout).current_state.label


def change_state(probe: RosProbe, transition_id: int, node: str = NODE) -> bool:
    """Trigger a lifecycle transition through ~/change_state; True when it succeeded."""
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState

    request = ChangeState.Request(transition=Transition(id=transition_id))
    return probe.call(ChangeState, f"{node}/change_state", request, timeout=60.0).success
