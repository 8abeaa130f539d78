"""Timed plans: one action per control period, passed steps skipped, a hold when a plan is over."""

import numpy as np
import pytest
from std_msgs.msg import Float64MultiArray
from trajectory_msgs.msg import JointTrajectory

from ros2_vid2world.ros.commands import CommandBuilder, CommandGate
from ros2_vid2world.ros.plan_player import HOLD_GRACE_S, PlanPlayer, TimedPlan

PERIOD = 0.1


class Rig:
    def __init__(self, command_type="float64_multi_array", timeout=1.0):
        self.sent = []
        self.gate = CommandGate(lambda msg: self.sent.append(msg))
        self.gate.open()
        hold_mode = "zero" if command_type == "float64_multi_array" else "current_position"
        self.builder = CommandBuilder(
            command_type, ["a", "b"], [-1, -1], [1, 1], PERIOD, hold_mode, "joint_velocity"
        )
        self.player = PlanPlayer(self.builder, self.gate, timeout, lambda: np.zeros(2))

    def plan(self, start, steps=3, joints=(0.0, 0.0)):
        actions = np.array([[0.1 * (i + 1), -0.1 * (i + 1)] for i in range(steps)])
        actions, positions = self.builder.shaped(actions, np.asarray(joints))
        return TimedPlan(actions, positions, start, PERIOD)

    def values(self):
        return [[round(v, 6) for v in msg.data] for msg in self.sent]


def test_one_action_per_period_then_one_hold_after_the_plan_ends():
    rig = Rig()
    rig.player.play(rig.plan(start=10.0), now=10.0)
    for now in np.arange(10.0, 10.5, 0.005):
        rig.player.tick(float(now))
    assert rig.values() == [[0.1, -0.1], [0.2, -0.2], [0.3, -0.3], [0.0, 0.0]]


def test_the_hold_waits_for_the_grace_so_a_clock_that_stops_at_the_plan_end_sends_none():
    rig = Rig()
    rig.player.play(rig.plan(start=10.0, steps=1), now=10.0)
    rig.player.tick(10.1)  # a lockstep clock: it stands still at the plan's end while the planner thinks
    assert rig.values() == [[0.1, -0.1]]
    rig.player.tick(10.1 + HOLD_GRACE_S)
    assert rig.values()[-1] == [0.0, 0.0]


def test_steps_whose_time_has_passed_are_skipped_and_a_future_plan_waits():
    rig = Rig()
    rig.player.play(rig.plan(start=10.0), now=10.15)  # arrives during its second step
    assert rig.values() == [[0.2, -0.2]]
    rig = Rig()
    rig.player.play(rig.plan(start=11.0), now=10.5)
    rig.player.tick(10.9)
    assert rig.values() == []
    rig.player.tick(11.0)
    assert rig.values() == [[0.1, -0.1]]


def test_no_new_plan_for_command_timeout_sends_the_hold_even_with_steps_left():
    rig = Rig(timeout=0.15)
    rig.player.play(rig.plan(start=10.0, steps=10), now=10.0)
    for now in np.arange(10.0, 10.3, 0.01):
        rig.player.tick(float(now))
    assert rig.values()[-1] == [0.0, 0.0] and len(rig.values()) == 3  # two steps, then the hold


def test_cleared_plan_sends_nothing_and_in_force_time_is_recorded():
    rig = Rig()
    rig.player.play(rig.plan(start=10.0), now=10.0)
    rig.player.tick(10.1)
    rig.player.clear()
    rig.player.tick(10.2)
    assert rig.values() == [[0.1, -0.1], [0.2, -0.2]]
    assert rig.player.longest_in_force_s == pytest.approx(0.1)


def test_a_trajectory_plan_goes_out_whole_stamped_with_its_start_and_integrated_positions():
    rig = Rig("joint_trajectory")
    rig.player.play(rig.plan(start=10.0, joints=(1.0, 2.0)), now=9.5)
    (msg,) = rig.sent
    assert isinstance(msg, JointTrajectory)
    assert msg.header.stamp.sec == 10 and msg.header.stamp.nanosec == 0
    positions = [list(point.positions) for point in msg.points]
    np.testing.assert_allclose(positions, [[1.01, 1.99], [1.03, 1.97], [1.06, 1.94]])
    np.testing.assert_allclose(msg.points[-1].velocities, [0.0, 0.0])  # it stops where the plan ends
    for now in np.arange(9.5, 10.5, 0.01):
        rig.player.tick(float(now))
    assert len(rig.sent) == 1  # the controller times it and holds at its end


def test_remaining_gives_the_committed_steps_and_where_they_leave_the_arm():
    rig = Rig()
    rig.player.play(rig.plan(start=10.0), now=10.0)
    actions, position, end = rig.player.remaining(since=10.1, until=10.25)
    np.testing.assert_allclose(actions, [[0.2, -0.2], [0.3, -0.3]])
    np.testing.assert_allclose(position, [0.06, -0.06])
    assert end == pytest.approx(10.3)
    assert all(isinstance(msg, Float64MultiArray) for msg in rig.sent)
