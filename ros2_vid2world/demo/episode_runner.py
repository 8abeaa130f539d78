"""Drives the learned planner's episodes over ROS 2 from an rclpy node of the demo's own.

It talks to sim_node and planner_node through their public topics and services only. One episode:
with the planner disabled, wait until the sim is quiet, set the sim's `episode_seed` and call its
~/reset_episode (the goal image and the first observation follow); ~/reset and ~/enable true on the
planner, which then decides once per camera frame while every command advances the lockstep sim one
step; the episode ends at the sim's first success or when the step budget is spent (the sim, started
with `end_on_success` and `max_steps`, then ignores commands); wait for the planner's decision on the
last observation; ~/enable false (one hold command, also ignored). Before enabling, the planner's clock
(the stamp of its /diagnostics) must have reached the episode's start (see
`_reset_until_the_planner_clock_follows`).

The sim publishes ~/episode_step, ~/success and ~/goal_distance once per observation, reliably and in
order, but without stamps: the k-th message of each from the reset on belong together. The reset's
are found by waiting, with the planner disabled, until the sim is quiet (see `_reset_sim`). Camera
frames (and, pushing, the block's poses: `block_poses`) carry sim-time stamps and are matched to steps
by them; the planner's ~/imagined tiles (goal, then the plan) are matched to decisions by their goal and
their order, since their stamps are the planner's clock when publishing, which the command just sent
may already have advanced.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import PoseStamped
from lifecycle_msgs.srv import GetState
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import Image
from std_msgs.msg import Bool, Float64, Float64MultiArray, Int32
from std_srvs.srv import SetBool, Trigger

from ..image_messages import decode_image_numpy, resize_rgb
from ..sim import topics
from .block_poses import BlockPoses, pose_yaw
from .demo_settings import PLANNER_NODE, SIM_NODE, DemoSettings
from .episode_record import EpisodeRecord
from .node_processes import NodeFailure, NodeProcess, WaitTimeout

RELIABLE = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
LATCHED = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
SERVICE_TIMEOUT_S = 30.0
HOLD_TIMEOUT_S = 5.0
QUIET_S = 0.3  # no sim output for this long: nothing is in flight (a step takes milliseconds)
QUIET_TIMEOUT_S = 10.0
TILE_TIMEOUT_S = 2.0
PLANNER_CLOCK_TIMEOUT_S = 3.0  # the planner's /diagnostics, which carry its clock, come once a second
CLOCK_RESETS = 3


def unused_domain_id(first: int, settle_s: float = 1.0, attempts: int = 10) -> int:
    """A ROS_DOMAIN_ID (1-101) on which no node is seen on this machine, trying `first`, first + 1, ...

    The environment's own ROS_DOMAIN_ID is skipped: it may carry a real robot's controllers, which the
    demo's planner must never command. Discovery is given `settle_s` to show other nodes.
    """
    os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # the demo and its nodes stay on this host
    own = os.environ.get("ROS_DOMAIN_ID")
    candidates = [1 + (first - 1 + i) % 101 for i in range(101)]
    candidates = [c for c in candidates if str(c) != own][:attempts]
    for domain_id in candidates:
        context = rclpy.Context()
        rclpy.init(context=context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO)
        try:
            node = rclpy.create_node("vid2world_demo_probe", context=context)
            executor = SingleThreadedExecutor(context=context)
            executor.add_node(node)
            deadline = time.monotonic() + settle_s
            while time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.05)
            others = [name for name, _ in node.get_node_names_and_namespaces() if name != node.get_name()]
            executor.shutdown()
            node.destroy_node()
        finally:
            rclpy.try_shutdown(context=context)
        if not others:
            return domain_id
    raise NodeFailure(f"no unused ROS domain among {candidates}: other nodes run on all of them")


def stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def pixels(msg: Image) -> np.ndarray | None:
    """Image -> uint8 [h, w, 3] RGB, or None for a malformed message, which is dropped (as the planner
    node drops it) rather than ending the run."""
    try:
        return decode_image_numpy(msg)
    except ValueError:
        return None


class RosEpisodeRunner:
    """The demo's rclpy node: subscribes to what the sim and planner publish, calls their services."""

    def __init__(
        self,
        settings: DemoSettings,
        domain_id: int,
        processes: list[NodeProcess],
        model_size: tuple[int, int],
        decision_timeout_s: float,
    ):
        self.settings, self.processes = settings, processes
        self.model_size, self.decision_timeout_s = tuple(model_size), decision_timeout_s
        self.period_ns = round(settings.control_period * 1e9)
        self.context = rclpy.Context()
        # No rclpy signal handlers: Ctrl-C must reach the demo as KeyboardInterrupt, so that it can stop
        # the nodes and write its report.
        rclpy.init(
            context=self.context, domain_id=domain_id, signal_handler_options=SignalHandlerOptions.NO
        )
        self.node = rclpy.create_node("vid2world_demo", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._frames: dict[int, np.ndarray] = {}
        self._goals: list[tuple[int, np.ndarray]] = []
        self._imagined: list[np.ndarray] = []  # the planner's tiles (goal, then the plan), as they come
        self._decisions = 0  # ~/plan_cost messages: one per decision, published whether or not enabled
        self._steps: list[tuple[float, int]] = []
        self._success: list[bool] = []
        self._distance: list[float] = []
        self._commands: list[tuple[float, list[float]]] = []
        self._last_output = time.monotonic()
        self._clients: dict[str, object] = {}
        self._planner_enabled = True  # planner_node starts enabled
        self._planner_clock_ns = -1  # the planner's clock, as its newest /diagnostics are stamped
        self._block = BlockPoses() if settings.task == "push" else None
        self._subscribe()

    # --- inputs -------------------------------------------------------------------------------------

    def _subscribe(self) -> None:
        node, sim = self.node, SIM_NODE
        node.create_subscription(Image, topics.IMAGE_TOPIC, self._on_frame, qos_profile_sensor_data)
        node.create_subscription(Image, self.settings.goal_image_topic, self._on_goal, LATCHED)
        node.create_subscription(Image, f"{PLANNER_NODE}/imagined", self._on_imagined, 10)
        node.create_subscription(Float64, f"{PLANNER_NODE}/plan_cost", self._on_plan_cost, RELIABLE)
        node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, RELIABLE)
        node.create_subscription(Int32, f"{sim}/episode_step", self._on_step, RELIABLE)
        node.create_subscription(Bool, f"{sim}/success", self._on_success, RELIABLE)
        node.create_subscription(Float64, f"{sim}/goal_distance", self._on_distance, RELIABLE)
        node.create_subscription(
            Float64MultiArray, self.settings.command_topic, self._on_command, RELIABLE
        )
        if self._block is not None:
            node.create_subscription(PoseStamped, topics.OBJECT_POSE_TOPIC, self._on_block_pose, RELIABLE)
            node.create_subscription(PoseStamped, f"{sim}/goal_object_pose", self._on_block_goal, LATCHED)

    def _on_frame(self, msg: Image) -> None:
        if (frame := pixels(msg)) is not None:
            self._frames[stamp_ns(msg)] = frame

    def _on_goal(self, msg: Image) -> None:
        if (goal := pixels(msg)) is not None:
            self._goals.append((stamp_ns(msg), goal))
            self._last_output = time.monotonic()

    def _on_block_pose(self, msg: PoseStamped) -> None:
        self._block.yaws[stamp_ns(msg)] = pose_yaw(msg)

    def _on_block_goal(self, msg: PoseStamped) -> None:
        self._block.goal_yaws[stamp_ns(msg)] = pose_yaw(msg)

    def _on_imagined(self, msg: Image) -> None:
        if (imagined := pixels(msg)) is not None:
            self._imagined.append(imagined)

    def _on_plan_cost(self, msg: Float64) -> None:
        self._decisions += 1

    def _on_step(self, msg: Int32) -> None:
        self._steps.append((time.monotonic(), msg.data))
        self._last_output = time.monotonic()

    def _on_success(self, msg: Bool) -> None:
        self._success.append(msg.data)
        self._last_output = time.monotonic()

    def _on_distance(self, msg: Float64) -> None:
        self._distance.append(msg.data)
        self._last_output = time.monotonic()

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        if any(status.name.startswith(f"{PLANNER_NODE}:") for status in msg.status):
            self._planner_clock_ns = stamp_ns(msg)

    def _on_command(self, msg: Float64MultiArray) -> None:
        self._commands.append((time.monotonic(), list(msg.data)))
        self._last_output = time.monotonic()

    # --- waiting ------------------------------------------------------------------------------------

    def spin_until(self, condition: Callable[[], bool], timeout: float, waiting_for: str) -> None:
        """Spin until `condition` holds; NodeFailure when a node dies or `timeout` passes first."""
        deadline = time.monotonic() + timeout
        while not condition():
            self.check_processes(waiting_for)
            if time.monotonic() > deadline:
                raise WaitTimeout(f"no {waiting_for} within {timeout:.0f} s")
            self.executor.spin_once(timeout_sec=0.05)

    def check_processes(self, during: str) -> None:
        for process in self.processes:
            ended = process.exit_description()
            if ended is not None:
                last = process.last_log_line()[:200]
                raise NodeFailure(
                    f"{process.name} {ended} while the demo waited for {during}"
                    + (f"; last log line: {last!r}" if last else "")
                )

    def call(self, srv_type, name: str, request, timeout: float = SERVICE_TIMEOUT_S):
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.node.create_client(srv_type, name)
        self.spin_until(client.service_is_ready, timeout, f"service {name}")
        future = client.call_async(request)
        self.spin_until(future.done, timeout, f"answer from {name}")
        return future.result()

    # --- start-up -----------------------------------------------------------------------------------

    def planner_state(self, timeout: float) -> str:
        """The planner's lifecycle state label. Its services answer once start-up (which configures and
        activates the node, loading the model) is over, so this waits for that."""
        response = self.call(GetState, f"{PLANNER_NODE}/get_state", GetState.Request(), timeout)
        return response.current_state.label

    def wait_for_sim(self, timeout: float) -> None:
        for service, srv_type in (("reset_episode", Trigger), ("set_parameters", SetParameters)):
            name = f"{SIM_NODE}/{service}"
            client = self._clients.get(name) or self.node.create_client(srv_type, name)
            self._clients[name] = client
            self.spin_until(client.service_is_ready, timeout, f"sim_node's ~/{service} service")

    def set_planner_enabled(self, enabled: bool) -> bool:
        """~/enable; when disabling an enabled planner, wait for its hold command. True if all went as
        expected (a missing hold is worth a note, not a failure)."""
        commands = len(self._commands)
        response = self.call(SetBool, f"{PLANNER_NODE}/enable", SetBool.Request(data=enabled))
        was_enabled, self._planner_enabled = self._planner_enabled, enabled
        if not response.success:
            raise NodeFailure(f"planner_node refused ~/enable {enabled}: {response.message}")
        if enabled or not was_enabled:
            return True
        try:
            self.spin_until(lambda: len(self._commands) > commands, HOLD_TIMEOUT_S, "the hold command")
        except WaitTimeout:
            return False
        return True

    # --- one episode --------------------------------------------------------------------------------

    def run_episode(self, index: int, seed: int, max_steps: int) -> EpisodeRecord:
        started = time.perf_counter()
        record = EpisodeRecord(policy="learned", index=index, seed=seed)
        if self._planner_enabled and not self.set_planner_enabled(False):
            record.notes.append("the planner's hold command before the reset was not seen")
        self._wait_until_quiet()
        self._imagined, decisions = [], self._decisions
        start_ns, first = self._reset_until_the_planner_clock_follows(seed, record)
        self._frames = {k: v for k, v in self._frames.items() if k >= start_ns}
        goal = resize_rgb(record.goal, self.model_size)
        arrivals = [self._steps[first[0]][0]]
        step_zero_seen = len(self._steps)
        record.distances.append(self._distance[first[2]])
        if self._success[first[1]]:
            record.success_step = 0
        else:
            self.call(Trigger, f"{PLANNER_NODE}/reset", Trigger.Request())
            self.set_planner_enabled(True)
            if len(self._steps) > step_zero_seen:
                record.notes.append("the sim stepped before the planner was enabled (a late command)")
        while record.success_step is None and record.steps < max_steps:
            k = record.steps + 1
            self.spin_until(
                lambda k=k: all(len(seen) > first[i] + k for i, seen in enumerate(self._outputs())),
                self.decision_timeout_s,
                f"decision {k} of episode {index + 1} from planner_node",
            )
            arrival, step = self._steps[first[0] + k]
            if step != k:
                raise NodeFailure(f"the sim reported step {step} where step {k} was expected")
            arrivals.append(arrival)
            record.steps = k
            record.distances.append(self._distance[first[2] + k])
            if self._success[first[1] + k]:
                record.success_step = k
        if self._planner_enabled:
            self._wait_for_last_decision(record, decisions, arrivals)
        if not self.set_planner_enabled(False):
            record.notes.append("the planner's hold command after the episode was not seen")
        stamps = [start_ns + k * self.period_ns for k in range(record.steps + 1)]
        record.frames = [self._frames.get(stamp) for stamp in stamps]
        if self._block is not None:
            self._record_angle_errors(record, start_ns, stamps)
        # A tile is the goal, then the plan's imagined frames: keep the plan's last frame per decision.
        # The ~/imagined publisher keeps one message: on a starved CPU one can be lost, and the GIF
        # then shows the later plans one step early.
        plans = [tile[:, -self.model_size[1] :] for tile in self._plans(goal)]
        if len(plans) < len(self._imagined):
            record.notes.append("some of the planner's plans aimed at another goal image")
        record.imagined = [plans[k] if k < len(plans) else None for k in range(record.steps + 1)]
        self._collect_commands(record, arrivals)
        record.wall_s = time.perf_counter() - started
        return record

    def _record_angle_errors(self, record: EpisodeRecord, start_ns: int, stamps: list[int]) -> None:
        """Pushing: the block's angle error after every step, from the poses stamped like the frames."""
        self._block.forget_before(start_ns)
        try:  # published with each observation, reliably, before the step count the episode waited for
            self.spin_until(
                lambda: self._block.angle_errors(start_ns, stamps) is not None, TILE_TIMEOUT_S, "block poses"
            )
        except WaitTimeout:
            record.notes.append("the block's pose was not seen after every step: no angle errors")
            return
        record.angle_errors = self._block.angle_errors(start_ns, stamps)

    def _plans(self, goal: np.ndarray) -> list[np.ndarray]:
        """The planner's tiles aimed at `goal` (this episode's), in the order of its decisions."""
        width = self.model_size[1]
        return [tile for tile in self._imagined if np.array_equal(tile[:, :width], goal)]

    def _wait_for_last_decision(self, record: EpisodeRecord, before: int, arrivals: list[float]) -> None:
        """The planner decides on the episode's last observation too (the sim, whose episode is over,
        ignores that command). Waiting for it keeps every episode at one decision per observation, so
        the planner's sampling noise runs the same course in every run, and its plan is in the GIF.
        `before`: the count of decisions (~/plan_cost messages) before the episode."""
        longest = max(np.diff(arrivals), default=0.0)
        timeout = min(self.decision_timeout_s, max(30.0, 5 * longest))
        try:
            self.spin_until(
                lambda: self._decisions - before > record.steps, timeout, "the planner's last decision"
            )
        except WaitTimeout:
            record.notes.append(f"no decision on the episode's last observation within {timeout:.0f} s")
        try:  # the plan's tile is published right after the cost
            self.spin_until(lambda: len(self._imagined) > record.steps, TILE_TIMEOUT_S, "the last plan")
        except WaitTimeout:
            pass  # the GIF repeats the previous plan

    def _outputs(self) -> tuple[list, list, list]:
        return self._steps, self._success, self._distance

    def _wait_until_quiet(self) -> None:
        self.spin_until(
            lambda: time.monotonic() - self._last_output > QUIET_S, QUIET_TIMEOUT_S, "a quiet sim"
        )

    def _reset_until_the_planner_clock_follows(
        self, seed: int, record: EpisodeRecord
    ) -> tuple[int, tuple[int, int, int]]:
        """`_reset_sim`, again if need be, until the planner's clock has reached the episode's start.

        On sim time the planner times its plans by the last /clock it got, which the sim publishes only
        when it resets or steps. A planner whose /clock subscription matched the sim's publisher after the
        reset (slow discovery on a loaded machine) would time its first plan from an older clock, and that
        plan's end-of-plan hold would then step the sim by itself. The sim re-sends its last clock to a
        late subscriber with the camera frame; this checks that it arrived (the planner's /diagnostics
        carry its clock), and another reset of the same seed (the same pair, a later start) publishes the
        clock again if not.
        """
        for _ in range(CLOCK_RESETS):
            start_ns, first = self._reset_sim(seed, record)
            try:
                self.spin_until(
                    lambda start_ns=start_ns: self._planner_clock_ns >= start_ns,
                    PLANNER_CLOCK_TIMEOUT_S,
                    "the planner's clock",
                )
                return start_ns, first
            except WaitTimeout:
                continue
        raise NodeFailure(
            f"planner_node's clock (its /diagnostics stamps) did not reach the episode's start after "
            f"{CLOCK_RESETS} resets: is /clock reaching it?"
        )

    def _reset_sim(self, seed: int, record: EpisodeRecord) -> tuple[int, tuple[int, int, int]]:
        """Reset the sim to `seed`: (the episode's start stamp, index of its first message per output).

        Messages from before the reset can still arrive after it (the sim's own first episode, published
        while discovery was under way, comes late or never), but each topic keeps its order and nothing
        else is published until the planner is enabled: once the sim is quiet again, the newest message
        of each output is the new episode's first.
        """
        counts = [len(seen) for seen in self._outputs()]
        goals = len(self._goals)
        request = SetParameters.Request(parameters=[Parameter("episode_seed", value=seed).to_parameter_msg()])
        result = self.call(SetParameters, f"{SIM_NODE}/set_parameters", request).results[0]
        if not result.successful:
            raise NodeFailure(f"sim_node refused episode_seed {seed}: {result.reason}")
        response = self.call(Trigger, f"{SIM_NODE}/reset_episode", Trigger.Request())
        if not response.success or f"(seed {seed})" not in response.message:
            raise NodeFailure(f"sim_node did not start an episode with seed {seed}: {response.message!r}")
        self.spin_until(
            lambda: len(self._goals) > goals
            and all(len(seen) > n for seen, n in zip(self._outputs(), counts, strict=True))
            and self._steps[-1][1] == 0,
            SERVICE_TIMEOUT_S,
            "the new episode's goal and first observation",
        )
        self._wait_until_quiet()
        first = tuple(len(seen) - 1 for seen in self._outputs())
        if self._steps[first[0]][1] != 0:
            raise NodeFailure(f"the sim's first step after a reset was {self._steps[first[0]][1]}, not 0")
        start_ns, record.goal = self._goals[-1]
        return start_ns, first

    def _collect_commands(self, record: EpisodeRecord, arrivals: list[float]) -> None:
        """Per decision: the command that followed observation k, and how long after it arrived."""
        for k in range(record.steps):
            after = [(t, data) for t, data in self._commands if arrivals[k] < t <= arrivals[k + 1]]
            if after:
                t, data = after[0]
                record.latencies_s.append(t - arrivals[k])
                record.actions.append([float(v) for v in data])
        self._commands = [(t, data) for t, data in self._commands if t > arrivals[-1]]

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
