"""The planning worker with a stand-in planner: decisions, holds, resets and staged settings, no DDS."""

import threading
import time
from dataclasses import dataclass, replace

import numpy as np
import pytest
from std_msgs.msg import Float64MultiArray

from ros2_vid2world.planning.errors import PlanCancelled
from ros2_vid2world.ros.commands import CommandBuilder, CommandGate
from ros2_vid2world.ros.execution_policy import ExecutionSettings
from ros2_vid2world.ros.latest_inputs import FRAME, GOAL, GOAL_JOINTS, JOINTS, LatestInputs
from ros2_vid2world.ros.planning_worker import PlanningWorker, WorkerOutputs


@dataclass
class Config:
    population: int = 8
    elites: int = 2
    iterations: int = 1
    horizon: int = 2
    denoise_steps: int = 1
    guidance_scale: float = 2.5


@dataclass
class Output:
    action: np.ndarray
    sequence: np.ndarray
    cost: float = 1.0
    latency_s: float = 0.01
    imagined: np.ndarray | None = None


class StandInPlanner:
    """Records what the worker asks of it; plans action [k, -k] for the k-th decision."""

    image_size = (4, 4)

    def __init__(self, plan_seconds=0.0):
        self.config = Config()
        self.calls: list = []
        self.observed: list = []
        self.fail_with: Exception | None = None
        self.plan_seconds = plan_seconds
        self.prefixes: list = []
        self.shifts: list = []
        self.cancelled = threading.Event()
        self.distance = 1.0

    def cancel(self):
        self.cancelled.set()

    def goal_distance(self):
        return self.distance

    def set_goal(self, image, goal_joints=None):
        self.calls.append("set_goal")
        self.goal_joints = None if goal_joints is None else goal_joints.tolist()

    def observe(self, frame, executed_action=None):
        self.calls.append("observe")
        self.observed.append((frame, None if executed_action is None else executed_action.tolist()))

    def plan(self, joints=None, decode=False, prefix=None, shift=1):
        self.calls.append("plan")
        self.cancelled.clear()
        self.prefixes.append(None if prefix is None else np.asarray(prefix).tolist())
        self.shifts.append(shift)
        deadline = time.monotonic() + self.plan_seconds
        while time.monotonic() < deadline:
            if self.cancelled.is_set():
                raise PlanCancelled("cancelled")
            time.sleep(0.001)
        if self.fail_with is not None:
            raise self.fail_with
        k = 0.1 * self.calls.count("plan")
        return Output(np.array([k, -k]), np.array([[k, -k], [0.0, 0.0]]))

    def update_config(self, **changes):
        self.calls.append(("update_config", changes))
        self.config = replace(self.config, **changes)

    def reset(self):
        self.calls.append("reset")


class Logger:
    def __init__(self):
        self.lines = []

    def _log(self, message, **kwargs):
        self.lines.append(message)

    info = warning = error = _log


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Rig:
    """A worker with a stand-in planner, fake clock, and every published message collected."""

    def __init__(self, control_rate=0.0, plan_seconds=0.0, clock=None, execution=None):
        self.planner = StandInPlanner(plan_seconds)
        self.inputs = LatestInputs()
        self.sent: list = []
        self.gate = CommandGate(self.sent.append)
        self.gate.open()
        self.clock, self.logger = clock or Clock(), Logger()
        self.costs: list = []
        outputs = WorkerOutputs(self.gate, self.costs.append, lambda tiles: None, lambda: False)
        builder = CommandBuilder("float64_multi_array", ["a", "b"], [-1, -1], [1, 1], 0.1, "zero")
        self.goal_reached: list = []
        outputs = replace(outputs, publish_goal_reached=self.goal_reached.append)
        self.worker = PlanningWorker(
            self.planner, self.inputs, builder, outputs, self.clock, self.logger, control_rate, 0.5, 0.0,
            # Decide on every new frame: the clock of these tests stands still between frames.
            execution=execution or ExecutionSettings(control_period=0.1, execution="continuous"),
        )
        self.frames = 0

    def feed(self, joints=(0.0, 0.0), frame_value=None, stamp=0.0):
        self.frames += 1
        value = self.frames if frame_value is None else frame_value
        self.inputs.put(FRAME, np.full((4, 4, 3), value, np.uint8), stamp, self.clock())
        self.inputs.put(JOINTS, np.asarray(joints, float), stamp, self.clock())

    def goal(self, value=200):
        self.inputs.put(GOAL, np.full((4, 4, 3), value, np.uint8), 0.0, self.clock())

    def values(self):
        return [[round(v, 6) for v in msg.data] for msg in self.sent]

    def holds(self):
        return [msg for msg in self.sent if list(msg.data) == [0.0, 0.0]]


def test_decides_once_per_new_frame_and_reports_the_executed_action():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.worker.step()  # no new frame: no second decision
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls.count("plan") == 2
    assert [executed for _, executed in rig.planner.observed] == [None, pytest.approx([0.1, -0.1])]
    assert all(isinstance(msg, Float64MultiArray) for msg in rig.sent) and len(rig.sent) == 2
    assert rig.costs == [1.0, 1.0]
    assert rig.worker.status().state == "commanding"


def test_no_goal_means_no_command():
    rig = Rig()
    rig.feed()
    rig.worker.step()
    assert "plan" not in rig.planner.calls and rig.sent == []
    assert rig.worker.status().message == "no goal image yet"


def test_stale_inputs_give_one_hold_then_silence_and_a_fresh_start():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.clock.now += 1.0  # older than max_input_age 0.5
    for _ in range(3):
        rig.worker.step()
    assert len(rig.sent) == 2 and len(rig.holds()) == 1 and rig.sent[-1] is rig.holds()[0]
    assert rig.worker.status().state == "holding" and "old" in rig.worker.status().message
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls[-3:] == ["reset", "observe", "plan"]  # warm start and history dropped
    assert rig.planner.observed[-1][1] is None
    assert len(rig.sent) == 3 and rig.worker.status().holds == 1


def test_nan_joint_state_gives_one_hold():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.feed(joints=(np.nan, 0.0))
    rig.worker.step()
    rig.worker.step()
    assert len(rig.holds()) == 1 and "NaN" in rig.worker.status().message


def test_planner_failure_gives_one_hold_and_a_retry_only_on_a_new_frame():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.planner.fail_with = RuntimeError("out of memory")
    rig.feed()
    rig.worker.step()
    rig.worker.step()
    assert len(rig.holds()) == 1 and rig.planner.calls.count("plan") == 2
    assert rig.worker.status().state == "planner_failed" and rig.worker.status().planner_failures == 1
    assert any("out of memory" in line for line in rig.logger.lines)
    rig.planner.fail_with = None
    rig.feed()
    rig.worker.step()
    assert isinstance(rig.sent[-1], Float64MultiArray) and rig.sent[-1] is not rig.holds()[-1]


def test_non_finite_action_counts_as_a_planner_failure():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.planner.plan = lambda joints=None, decode=False: Output(np.array([np.nan, 0.0]), np.zeros((2, 2)))
    rig.feed()
    rig.worker.step()
    assert len(rig.holds()) == 1 and rig.worker.status().planner_failures == 1


def test_time_jumping_backwards_drops_inputs_and_resets_the_planner():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.clock.now -= 30.0
    rig.worker.step()
    assert rig.worker.status().time_jumps == 1
    assert rig.inputs.latest(FRAME) is None and rig.inputs.latest(GOAL) is not None
    assert "reset" in rig.planner.calls
    assert len(rig.holds()) == 1  # the inputs are gone, so the node stops commanding until new ones come
    rig.feed()
    rig.worker.step()
    assert isinstance(rig.sent[-1], Float64MultiArray) and len(rig.sent) == 3


def test_staged_settings_apply_before_the_next_decision_without_a_hold():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.worker.stage_settings({"population": 16}, max_input_age=5.0)
    assert rig.planner.config.population == 8  # nothing changes until the worker's next step
    rig.clock.now += 1.0  # stale under the old max_input_age, fresh under the new one
    rig.feed()
    rig.worker.step()
    assert ("update_config", {"population": 16}) in rig.planner.calls
    assert rig.planner.calls.index(("update_config", {"population": 16})) < len(rig.planner.calls) - 1
    assert rig.worker.status().planner_config["population"] == 16
    assert rig.holds() == [] and len(rig.sent) == 2


def test_reset_request_drops_the_warm_start_at_the_next_step():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.worker.request_reset()
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls[-3:] == ["reset", "observe", "plan"]
    assert rig.planner.observed[-1][1] is None and rig.holds() == []


def test_a_republished_identical_goal_keeps_the_warm_start():
    rig = Rig()
    rig.goal()
    rig.feed()
    rig.worker.step()
    rig.goal()
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls.count("set_goal") == 1
    rig.goal(value=50)
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls.count("set_goal") == 2


def test_goal_joints_reach_the_planner_with_the_goal_image():
    rig = Rig()
    rig.inputs.put(GOAL_JOINTS, np.array([0.3, -0.1]), 0.0, rig.clock())
    rig.feed()
    rig.worker.step()
    assert "set_goal" not in rig.planner.calls  # goal joints alone are not a goal
    rig.goal()
    rig.feed()
    rig.worker.step()
    assert rig.planner.goal_joints == [0.3, -0.1] and rig.planner.calls.count("plan") == 1


def test_disabled_gate_means_no_planning():
    rig = Rig()
    rig.goal()
    rig.gate.close(None)
    rig.feed()
    rig.worker.step()
    assert "plan" not in rig.planner.calls and rig.worker.status().state == "disabled"


def test_the_thread_plans_on_the_newest_frame_and_skips_the_ones_it_could_not_use():
    rig = Rig(control_rate=0.0, plan_seconds=0.05, clock=time.monotonic)  # the thread needs a moving clock
    rig.goal()
    rig.worker.start()
    try:
        for value in range(1, 21):
            rig.inputs.put(FRAME, np.full((4, 4, 3), value, np.uint8), 0.0, time.monotonic())
            rig.inputs.put(JOINTS, np.zeros(2), 0.0, time.monotonic())
            time.sleep(0.005)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(
            frame[0, 0, 0] == 20 for frame, _ in rig.planner.observed
        ):
            time.sleep(0.01)
    finally:
        rig.worker.stop()
        assert rig.worker.join(5.0)
    seen = [int(frame[0, 0, 0]) for frame, _ in rig.planner.observed]
    assert seen[-1] == 20 and len(seen) < 20 and seen == sorted(seen)
    assert rig.worker.status().state == "stopped"


def hold_while_planning(steps=1, **settings):
    return ExecutionSettings(
        control_period=0.1, execution="hold_while_planning", execute_steps=steps, **settings
    )


def test_hold_while_planning_decides_only_on_a_frame_taken_after_the_plan_ran():
    rig = Rig(execution=hold_while_planning())
    rig.goal()
    rig.feed(stamp=100.0)
    rig.worker.step()
    assert rig.values() == [[0.1, -0.1]]  # one action of the plan, from the moment it arrived
    rig.clock.now = 100.05
    rig.feed(stamp=100.05)  # taken while the action ran: it does not show where the arm ended
    rig.worker.step()
    assert rig.planner.calls.count("plan") == 1
    rig.clock.now = 100.15
    rig.worker.player.tick(rig.clock.now)
    assert rig.values()[-1] == [0.0, 0.0]  # the plan is over: one hold while the planner thinks
    rig.feed(stamp=100.15)
    rig.worker.step()
    assert rig.planner.calls.count("plan") == 2 and rig.values()[-1] == [0.2, -0.2]
    assert rig.planner.observed[-1][1] == pytest.approx([0.1, -0.1])  # the action that ran
    assert rig.planner.shifts[-1] == 1


def test_continuous_imagines_the_committed_steps_first_and_starts_after_them():
    rig = Rig(execution=ExecutionSettings(control_period=0.1, execution="continuous"))
    rig.planner.plan_seconds = 0.0
    rig.goal()
    rig.feed(stamp=100.0)
    rig.worker.step()  # plan 1: [0.1, -0.1], [0, 0] from 100.0
    rig.worker._policy.expected_latency = 0.15  # a decision is expected to take 1.5 periods
    rig.clock.now = 100.02
    rig.feed(stamp=100.02)
    rig.worker.step()
    # Both steps of plan 1 start within [frame - T/2, frame + latency): they run while it thinks.
    np.testing.assert_allclose(rig.planner.prefixes[-1], [[0.1, -0.1], [0.0, 0.0]])
    plan = rig.worker.player.plan
    assert plan.start == pytest.approx(100.2) and rig.planner.shifts[-1] == 2


def test_disable_during_a_slow_decision_publishes_nothing_it_planned():
    rig = Rig(plan_seconds=0.5, clock=time.monotonic)
    rig.goal()
    rig.inputs.put(FRAME, np.full((4, 4, 3), 1, np.uint8), 0.0, time.monotonic())
    rig.inputs.put(JOINTS, np.zeros(2), 0.0, time.monotonic())
    rig.worker.start()
    try:
        assert wait_until(lambda: "plan" in rig.planner.calls)
        rig.worker.interrupt()  # what ~/enable false does, besides its hold
        rig.gate.close(None)
        rig.gate.open()  # ~/enable true, at once
        time.sleep(0.3)
    finally:
        rig.worker.stop()
        assert rig.worker.join(5.0)
    assert rig.sent == [], "a decision running across disable -> enable must not be published"


def test_reaching_the_goal_holds_publishes_it_and_stops_deciding_until_a_reset():
    rig = Rig(execution=ExecutionSettings(control_period=0.1, execution="continuous", goal_tolerance=0.5))
    rig.goal()
    rig.feed()
    rig.worker.step()
    assert rig.goal_reached == [] and len(rig.sent) == 1
    rig.planner.distance = 0.3
    rig.feed()
    rig.worker.step()
    assert rig.goal_reached == [True] and rig.values()[-1] == [0.0, 0.0]
    assert rig.worker.status().state == "goal_reached"
    plans = rig.planner.calls.count("plan")
    rig.feed()
    rig.worker.step()
    assert rig.planner.calls.count("plan") == plans
    rig.worker.request_reset()
    rig.planner.distance = 1.0
    rig.feed()
    rig.worker.step()
    assert rig.goal_reached == [True, False] and rig.planner.calls.count("plan") == plans + 1


def test_decisions_without_a_better_cost_are_counted_as_a_stall():
    rig = Rig(execution=ExecutionSettings(control_period=0.1, execution="continuous", stall_decisions=2))
    rig.goal()
    for _ in range(3):
        rig.feed()
        rig.worker.step()
    assert rig.worker.status().stalled_decisions == 2
    assert any("stalled" in line for line in rig.logger.lines)


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False
