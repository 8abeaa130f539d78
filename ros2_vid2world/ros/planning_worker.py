"""The planning thread: newest inputs -> safety check -> observe + plan -> a timed plan for the player.

Callbacks only put messages into the latest-only mailbox (`LatestInputs`); everything that touches
the model runs here, so the executor never waits on it. The plan's actions go out on the executor,
one per control period (`PlanPlayer`), so the robot is commanded on time whatever a decision costs.
Requests from other threads (reset, new planner settings) are staged and applied between decisions;
`interrupt` abandons the running decision, and nothing planned before it is published after it.

When to decide and where a plan starts depend on the execution mode (`execution_policy.py`).
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..image_messages import resize_rgb
from ..planning.errors import PlanCancelled
from .commands import CommandBuilder, CommandGate
from .execution_policy import NODE, ExecutionPolicy, ExecutionSettings
from .imagined_tiles import tile_beside_goal
from .latest_inputs import FRAME, GOAL, GOAL_JOINTS, JOINTS, LatestInputs, Sample
from .plan_player import PlanPlayer, TimedPlan
from .safety import input_age, unsafe_reason

# With control_rate 0 the worker waits for frames; it still wakes this often to notice stale inputs.
SAFETY_CHECK_PERIOD_S = 0.05
# A frame that came before the last plan had run is looked at again this often (not in a busy loop:
# the executor thread must get the GIL to move the clock on).
NOT_READY_RECHECK_S = 0.005
REPORTED_PLANNER_SETTINGS = (
    "population",
    "elites",
    "iterations",
    "horizon",
    "denoise_steps",
    "guidance_scale",
)
# A stall is a decision whose cost is no better than this fraction below the best so far.
STALL_IMPROVEMENT = 1e-3


@dataclass
class WorkerStatus:
    """What the worker is doing, for /diagnostics. state: waiting, commanding, holding, planner_failed,
    goal_reached, disabled or stopped; message: why."""

    state: str = "waiting"
    message: str = ""
    decisions: int = 0
    holds: int = 0
    planner_failures: int = 0
    time_jumps: int = 0
    discarded_plans: int = 0
    plan_latency_s: float | None = None
    expected_latency_s: float | None = None
    best_cost: float | None = None
    goal_distance: float | None = None
    stalled_decisions: int = 0
    stalled: bool = False  # stalled_decisions reached the stall_decisions setting
    image_age_s: float | None = None
    joints_age_s: float | None = None
    longest_command_s: float = 0.0
    planner_config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerOutputs:
    """Where results go: the command gate, and the small observability topics."""

    gate: CommandGate
    publish_cost: Callable[[float], None]
    publish_imagined: Callable[[np.ndarray], None]  # uint8 [h, (N + 1) w, 3]
    wants_imagined: Callable[[], bool]  # is anyone subscribed?
    publish_goal_reached: Callable[[bool], None] = lambda reached: None
    publish_latency: Callable[[float], None] = lambda seconds: None  # each decision's wall time


class PlanningWorker:
    """Runs decisions at `control_rate` Hz (at most one per new camera frame), or once per new frame (0)."""

    def __init__(
        self,
        planner,
        inputs: LatestInputs,
        builder: CommandBuilder,
        outputs: WorkerOutputs,
        clock: Callable[[], float],
        logger,
        control_rate: float,
        max_input_age: float,
        imagined_period: float,
        execution: ExecutionSettings | None = None,
        player: PlanPlayer | None = None,
        command_timeout: float = NODE["command_timeout"],
        clock_name: str = "node clock",
    ):
        self._clock_name = clock_name
        self._planner, self._inputs, self._builder, self._outputs = planner, inputs, builder, outputs
        self._gate = outputs.gate
        self._clock, self._logger = clock, logger
        self._control_rate = control_rate
        self._max_input_age, self._imagined_period = max_input_age, imagined_period
        self._execution = execution or ExecutionSettings(control_period=builder.period)
        self._policy = ExecutionPolicy(self._execution)
        self.player = player or PlanPlayer(
            builder, self._gate, command_timeout, lambda: self._last_finite_joints
        )
        self._lock = threading.Lock()
        self._pending: dict = {}
        self._reset_requested = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = WorkerStatus(planner_config=self._planner_settings())
        self._epoch = 0
        self._last_now: float | None = None
        self._used_frame_seq = 0
        self._last_frame_time: float | None = None
        self._last_finite_joints: np.ndarray | None = None
        self._goal_key: tuple[int, int] | None = None
        self._goal_image: np.ndarray | None = None
        self._goal_joints: np.ndarray | None = None
        self._goal_reached = False
        self._not_ready = False
        self._interrupted = True  # nothing to continue from yet
        self._best_cost = math.inf
        self._last_imagined = -np.inf

    # --- control from other threads -------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="vid2world-planning", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end, abandoning a running decision; does not wait (see `join`)."""
        self._stopping.set()
        self.interrupt()
        self._inputs.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        return True

    def interrupt(self) -> None:
        """Disable, enable, reset or shutdown: abandon the running decision and drop the current plan, so
        that nothing planned before this call goes out after it."""
        with self._lock:
            self._epoch += 1
            self._interrupted = True
        cancel = getattr(self._planner, "cancel", None)
        if cancel is not None:
            cancel()
        self.player.clear()

    def request_reset(self) -> None:
        self.interrupt()
        with self._lock:
            self._reset_requested = True

    def stage_settings(self, planner_changes: dict, **node_changes) -> None:
        """planner_changes: PlannerConfig fields; node_changes: max_input_age, imagined_period,
        command_timeout."""
        with self._lock:
            self._pending.setdefault("planner", {}).update(planner_changes)
            self._pending.update(node_changes)

    def status(self) -> WorkerStatus:
        with self._lock:
            self._status.longest_command_s = self.player.longest_in_force_s
            return dataclasses.replace(self._status, planner_config=dict(self._status.planner_config))

    @property
    def last_finite_joints(self) -> np.ndarray | None:
        return self._last_finite_joints

    # --- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        next_tick = time.monotonic()
        while not self._stopping.is_set():
            if self._control_rate > 0:
                self._stopping.wait(max(0.0, next_tick - time.monotonic()))
                next_tick = max(next_tick + 1.0 / self._control_rate, time.monotonic())
            elif self._not_ready:
                self._stopping.wait(NOT_READY_RECHECK_S)
            else:
                self._inputs.wait_for_frame(self._used_frame_seq, SAFETY_CHECK_PERIOD_S)
            if self._stopping.is_set():
                break
            try:
                self.step()
            except Exception as exc:  # a dead thread would leave the arm on its last command
                self._logger.error(f"planning step failed: {exc!r}", throttle_duration_sec=5.0)
                self._stop_commanding("planner_failed", f"planning step failed: {exc}")
        self._set_state("stopped", "")

    def step(self) -> None:
        """One pass: apply staged requests, check the inputs, and decide if there is a new frame."""
        now = self._clock()
        if self._last_now is not None and now < self._last_now:
            self._on_time_jump(self._last_now - now)
        self._last_now = now
        self._apply_requests()
        if not self._gate.is_open:
            self._set_state("disabled", "commands disabled")
            return
        snapshot = self._inputs.snapshot()
        frame, joints = snapshot.get(FRAME), snapshot.get(JOINTS)
        self._note_ages(frame, joints, now)
        reason = unsafe_reason(frame, joints, now, self._max_input_age, self._clock_name)
        if reason is not None:
            self._stop_commanding("waiting" if self._status.decisions == 0 else "holding", reason)
            return
        if not self._update_goal(snapshot):
            self._stop_commanding("waiting", "no goal image yet")
            return
        if self._goal_reached or frame.seq == self._used_frame_seq:
            return  # nothing new to decide on
        self._not_ready = not self._policy.ready_for(frame_time(frame), now, self.player.plan is not None)
        if self._not_ready:
            return
        self._used_frame_seq = frame.seq
        self._decide(frame, joints)

    def _decide(self, frame: Sample, joints: Sample) -> None:
        with self._lock:
            epoch = self._epoch
        taken = frame_time(frame)
        if self._interrupted:
            # Coming back from a stop: the warm start and history describe a past that was interrupted.
            self._planner.reset()
            self._policy.previous, self._last_frame_time, self._interrupted = None, None, False
        started = self._clock()
        try:
            self._planner.observe(frame.value, self._executed_action(taken))
            self._last_frame_time = taken
            if self._check_goal():
                return
            committed = self._policy.commitments(taken, joints.value, self.player, self._period())
            output = self._planner.plan(
                joints=joints.value,
                decode=self._imagined_due(),
                **({} if committed.prefix is None else {"prefix": committed.prefix}),
                **({} if committed.shift == 1 else {"shift": committed.shift}),
            )
            if not np.all(np.isfinite(output.action)):
                raise ValueError(f"planner returned a non-finite action {output.action.tolist()}")
        except PlanCancelled:
            return
        except Exception as exc:
            with self._lock:
                self._status.planner_failures += 1
            self._logger.error(f"planner failed: {exc}", throttle_duration_sec=5.0)
            self._stop_commanding("planner_failed", f"planner failed: {exc}")
            return
        arrived = self._clock()
        with self._lock:
            if epoch != self._epoch:  # disabled, reset or stopped meanwhile: this plan is history
                self._status.discarded_plans += 1
                return
        expected = self._policy.note_latency(arrived - started)
        with self._lock:
            self._status.expected_latency_s = expected
        start = arrived if committed.start is None else committed.start
        self._play(output, committed.start_joints, start, arrived, epoch)
        self._outputs.publish_cost(output.cost)
        self._outputs.publish_latency(output.latency_s)
        self._note_cost(output)
        if output.imagined is not None and self._goal_image is not None:
            goal = resize_rgb(self._goal_image, output.imagined.shape[1:3])
            self._outputs.publish_imagined(tile_beside_goal(goal, output.imagined))
            self._last_imagined = time.monotonic()

    def _play(self, output, start_joints, start: float, now: float, epoch: int) -> None:
        sequence = self._policy.steps_to_play(np.asarray(output.sequence, dtype=np.float64))
        in_force = self.player.plan
        previous_action = None
        if in_force is not None:
            step = in_force.step_at(start) - 1
            if 0 <= step < len(in_force.actions):
                previous_action = in_force.actions[step]
        self._builder.period = self._period()  # action_repeat may have changed since configure
        actions, positions = self._builder.shaped(sequence, start_joints, previous_action)
        if self._builder.command_type == "joint_trajectory" and positions is None:
            self._stop_commanding("holding", "no finite joint positions to build a trajectory from")
            return
        plan = TimedPlan(actions, positions, start, self._period(), epoch)
        self._policy.previous = plan
        self.player.play(plan, now)
        with self._lock:
            self._status.decisions += 1
            self._status.plan_latency_s = output.latency_s
            self._status.best_cost = output.cost
        self._set_state("commanding", "")

    def _executed_action(self, taken: float) -> np.ndarray | None:
        """The action executed since the previous decision's frame, when exactly one ran (the history
        the planner keeps is one action per frame); None restarts the history."""
        if self._last_frame_time is None:
            return None
        executed = self.player.executed_between(self._last_frame_time, taken + 1e-9)
        return executed[0].action if len(executed) == 1 else None

    def _check_goal(self) -> bool:
        """True when the newest frame is within `goal_tolerance` of the goal: hold, and stop deciding."""
        tolerance = self._execution.goal_tolerance
        if tolerance <= 0:
            return False
        distance = float(self._planner.goal_distance())
        with self._lock:
            self._status.goal_distance = distance
        if distance > tolerance:
            return False
        self._goal_reached = True
        self.player.clear()
        self._stop_commanding("goal_reached", f"goal reached (distance {distance:.4g} <= {tolerance:g})")
        self._outputs.publish_goal_reached(True)
        self._logger.info(f"goal reached: distance {distance:.4g} <= goal_tolerance {tolerance:g}")
        return True

    def _note_cost(self, output) -> None:
        margin = STALL_IMPROVEMENT * abs(self._best_cost)
        if math.isinf(self._best_cost) or output.cost < self._best_cost - margin:
            self._best_cost = output.cost
            stalled = 0
        else:
            stalled = self._status.stalled_decisions + 1
        limit = self._execution.stall_decisions
        with self._lock:
            self._status.stalled_decisions = stalled
            self._status.stalled = bool(limit) and stalled >= limit
        if limit and stalled == limit:
            self._logger.warning(f"stalled: no cost improvement over {limit} decisions")

    def _stop_commanding(self, state: str, reason: str) -> None:
        """One hold if a command was the last thing sent, then silence."""
        self.player.clear()
        self._interrupted = True
        hold = self._builder.hold(self._last_finite_joints)
        if self._gate.hold(hold):
            with self._lock:
                self._status.holds += 1
            self._logger.warning(f"holding: {reason}")
            if hold is None:
                self._logger.error("no hold command could be built: no finite joint positions known")
        elif self._status.message != reason:
            # Said once per new reason, from the very first (before any command, too).
            self._logger.warning(f"not commanding: {reason}", throttle_duration_sec=5.0)
        self._set_state(state, reason)

    def _on_time_jump(self, seconds: float) -> None:
        with self._lock:
            self._status.time_jumps += 1
        self._logger.warning(
            f"time jumped backwards by {seconds:.3f} s (a looping bag replay?): "
            "dropping inputs, history and warm start"
        )
        self._inputs.clear(FRAME, JOINTS)
        self.player.clear()
        self._interrupted = True
        self._planner.reset()

    def _apply_requests(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            reset, self._reset_requested = self._reset_requested, False
        planner_changes = pending.pop("planner", {})
        self._max_input_age = pending.get("max_input_age", self._max_input_age)
        self._imagined_period = pending.get("imagined_period", self._imagined_period)
        if "command_timeout" in pending:
            self.player.set_command_timeout(pending["command_timeout"])
        if "goal_tolerance" in planner_changes:
            self._execution.goal_tolerance = planner_changes["goal_tolerance"]
        if planner_changes:
            try:
                self._planner.update_config(**planner_changes)
                self._logger.info(f"planner settings changed: {planner_changes}")
            except ValueError as exc:
                self._logger.error(f"planner settings {planner_changes} rejected: {exc}")
            with self._lock:
                self._status.planner_config = self._planner_settings()
        if reset:
            self._planner.reset()
            self._policy.previous, self._last_frame_time = None, None
            self._interrupted = False
            self._clear_goal_reached()
            self._logger.info("reset: warm start and history dropped")

    def _clear_goal_reached(self) -> None:
        if self._goal_reached:
            self._goal_reached = False
            self._outputs.publish_goal_reached(False)

    def _update_goal(self, snapshot: dict[str, Sample]) -> bool:
        """Hand a new goal to the planner (only when it differs: a republished goal keeps the warm start)."""
        goal, goal_joints = snapshot.get(GOAL), snapshot.get(GOAL_JOINTS)
        if goal is None:
            return self._goal_image is not None
        key = (goal.seq, 0 if goal_joints is None else goal_joints.seq)
        if key == self._goal_key:
            return True
        self._goal_key = key
        joints = None if goal_joints is None else goal_joints.value
        if (
            self._goal_image is not None
            and np.array_equal(goal.value, self._goal_image)
            and np.array_equal(joints, self._goal_joints)
        ):
            return True
        try:
            self._planner.set_goal(goal.value, joints)
        except ValueError as exc:
            self._logger.error(f"goal rejected: {exc}")
            return self._goal_image is not None
        self._goal_image, self._goal_joints = goal.value, joints
        self._best_cost = math.inf
        self._clear_goal_reached()
        self._logger.info("new goal")
        return True

    def _note_ages(self, frame: Sample | None, joints: Sample | None, now: float) -> None:
        if joints is not None and np.all(np.isfinite(joints.value)):
            self._last_finite_joints = joints.value
        with self._lock:
            self._status.image_age_s = None if frame is None else input_age(frame, now)
            self._status.joints_age_s = None if joints is None else input_age(joints, now)

    def _imagined_due(self) -> bool:
        return (
            self._imagined_period > 0
            and time.monotonic() - self._last_imagined >= self._imagined_period
            and self._outputs.wants_imagined()
        )

    def _period(self) -> float:
        """Seconds per decision step: the model's control period times the planner's action repeat."""
        return self._execution.control_period * getattr(self._planner.config, "action_repeat", 1)

    def _set_state(self, state: str, message: str) -> None:
        with self._lock:
            self._status.state, self._status.message = state, message

    def _planner_settings(self) -> dict:
        config = self._planner.config
        return {name: getattr(config, name) for name in REPORTED_PLANNER_SETTINGS}


def frame_time(sample: Sample) -> float:
    """When a frame was taken: its header stamp, or its arrival for an unstamped one."""
    return sample.stamp if sample.stamp > 0 else sample.received
