"""The planning thread: newest inputs -> safety check -> observe + plan -> command, one decision at a time.

Callbacks only put messages into the latest-only mailbox (`LatestInputs`); everything that touches
the model runs here, so the executor never waits on it. Requests from other threads (reset, new
planner settings) are staged and applied between decisions, never in the middle of one.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..image_messages import resize_rgb
from .commands import CommandBuilder, CommandGate
from .imagined_tiles import tile_beside_goal
from .latest_inputs import FRAME, GOAL, GOAL_JOINTS, JOINTS, LatestInputs, Sample
from .safety import input_age, unsafe_reason

# With control_rate 0 the worker waits for frames; it still wakes this often to notice stale inputs.
SAFETY_CHECK_PERIOD_S = 0.05
REPORTED_PLANNER_SETTINGS = (
    "population",
    "elites",
    "iterations",
    "horizon",
    "denoise_steps",
    "guidance_scale",
)


@dataclass
class WorkerStatus:
    """What the worker is doing, for /diagnostics. state: waiting, commanding, holding, planner_failed,
    disabled or stopped; message: why."""

    state: str = "waiting"
    message: str = ""
    decisions: int = 0
    holds: int = 0
    planner_failures: int = 0
    time_jumps: int = 0
    plan_latency_s: float | None = None
    best_cost: float | None = None
    image_age_s: float | None = None
    joints_age_s: float | None = None
    planner_config: dict = field(default_factory=dict)


@dataclass(frozen=True)
class WorkerOutputs:
    """Where results go: the command gate, and the small observability topics."""

    gate: CommandGate
    publish_cost: Callable[[float], None]
    publish_imagined: Callable[[np.ndarray], None]  # uint8 [h, (N + 1) w, 3]
    wants_imagined: Callable[[], bool]  # is anyone subscribed?


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
    ):
        self._planner, self._inputs, self._builder, self._outputs = planner, inputs, builder, outputs
        self._gate = outputs.gate
        self._clock, self._logger = clock, logger
        self._control_rate = control_rate
        self._max_input_age, self._imagined_period = max_input_age, imagined_period
        self._lock = threading.Lock()
        self._pending: dict = {}
        self._reset_requested = False
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._status = WorkerStatus(planner_config=self._planner_settings())
        self._last_now: float | None = None
        self._used_frame_seq = 0
        self._last_action: np.ndarray | None = None
        self._last_finite_joints: np.ndarray | None = None
        self._goal_key: tuple[int, int] | None = None
        self._goal_image: np.ndarray | None = None
        self._goal_joints: np.ndarray | None = None
        self._last_imagined = -np.inf

    # --- control from other threads -------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="vid2world-planning", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the thread to end after the current decision; does not wait (see `join`)."""
        self._stopping.set()
        self._inputs.wake()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True when it has (or never started)."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
        return True

    def request_reset(self) -> None:
        with self._lock:
            self._reset_requested = True

    def stage_settings(self, planner_changes: dict, **node_changes) -> None:
        """planner_changes: PlannerConfig fields; node_changes: max_input_age, imagined_period."""
        with self._lock:
            self._pending.setdefault("planner", {}).update(planner_changes)
            self._pending.update(node_changes)

    def status(self) -> WorkerStatus:
        with self._lock:
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
        reason = unsafe_reason(frame, joints, now, self._max_input_age)
        if reason is not None:
            self._stop_commanding("waiting" if self._status.decisions == 0 else "holding", reason)
            return
        if not self._update_goal(snapshot):
            self._stop_commanding("waiting", "no goal image yet")
            return
        if frame.seq == self._used_frame_seq:
            return  # nothing new to decide on
        self._used_frame_seq = frame.seq
        self._decide(frame, joints)

    def _decide(self, frame: Sample, joints: Sample) -> None:
        executed = self._last_action if self._gate.commanding else None
        if executed is None:
            # Coming back from silence: the warm start and history describe a past that was interrupted.
            self._planner.reset()
        try:
            self._planner.observe(frame.value, executed)
            output = self._planner.plan(joints=joints.value, decode=self._imagined_due())
            if not np.all(np.isfinite(output.action)):
                raise ValueError(f"planner returned a non-finite action {output.action.tolist()}")
        except Exception as exc:
            with self._lock:
                self._status.planner_failures += 1
            self._logger.error(f"planner failed: {exc}", throttle_duration_sec=5.0)
            self._stop_commanding("planner_failed", f"planner failed: {exc}")
            return
        if self._gate.send(self._builder.command(output.action, output.sequence)):
            self._last_action = self._builder.clamp(output.action)
            with self._lock:
                self._status.decisions += 1
                self._status.plan_latency_s, self._status.best_cost = output.latency_s, output.cost
            self._set_state("commanding", "")
        self._outputs.publish_cost(output.cost)
        if output.imagined is not None and self._goal_image is not None:
            goal = resize_rgb(self._goal_image, output.imagined.shape[1:3])
            self._outputs.publish_imagined(tile_beside_goal(goal, output.imagined))
            self._last_imagined = time.monotonic()

    def _stop_commanding(self, state: str, reason: str) -> None:
        """One hold if a command was the last thing sent, then silence."""
        hold = self._builder.hold(self._last_finite_joints)
        if self._gate.hold(hold):
            with self._lock:
                self._status.holds += 1
            self._logger.warning(f"holding: {reason}")
            if hold is None:
                self._logger.error("no hold command could be built: no finite joint positions known")
        self._last_action = None
        self._set_state(state, reason)

    def _on_time_jump(self, seconds: float) -> None:
        with self._lock:
            self._status.time_jumps += 1
        self._logger.warning(
            f"time jumped backwards by {seconds:.3f} s (a looping bag replay?): "
            "dropping inputs, history and warm start"
        )
        self._inputs.clear(FRAME, JOINTS)
        self._planner.reset()

    def _apply_requests(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            reset, self._reset_requested = self._reset_requested, False
        planner_changes = pending.pop("planner", {})
        self._max_input_age = pending.get("max_input_age", self._max_input_age)
        self._imagined_period = pending.get("imagined_period", self._imagined_period)
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
            self._last_action = None
            self._logger.info("reset: warm start and history dropped")

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

    def _set_state(self, state: str, message: str) -> None:
        with self._lock:
            self._status.state, self._status.message = state, message

    def _planner_settings(self) -> dict:
        config = self._planner.config
        return {name: getattr(config, name) for name in REPORTED_PLANNER_SETTINGS}
