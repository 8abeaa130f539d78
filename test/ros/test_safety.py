"""Missing, stale or NaN inputs stop commanding; the gate turns that into one hold, then silence."""

import numpy as np

from ros2_vid2world.ros.commands import CommandGate
from ros2_vid2world.ros.latest_inputs import Sample
from ros2_vid2world.ros.safety import input_age, unsafe_reason


def sample(received, stamp=0.0, value=(0.0, 0.0)):
    return Sample(np.asarray(value, dtype=float), stamp, received, 1)


def test_fresh_finite_inputs_are_safe():
    assert unsafe_reason(sample(9.8), sample(9.9), now=10.0, max_age=0.5) is None


def test_missing_stale_and_nan_inputs_each_give_a_reason():
    assert "no camera" in unsafe_reason(None, sample(10.0), 10.0, 0.5)
    assert "no joint state" in unsafe_reason(sample(10.0), None, 10.0, 0.5)
    assert "camera image is 2.00 s old" in unsafe_reason(sample(8.0), sample(10.0), 10.0, 0.5)
    assert "joint state is 1.00 s old" in unsafe_reason(sample(10.0), sample(9.0), 10.0, 0.5)
    assert "NaN" in unsafe_reason(sample(10.0), sample(10.0, value=(np.nan, 0.0)), 10.0, 0.5)
    assert "NaN" in unsafe_reason(sample(10.0), sample(10.0, value=(np.inf, 0.0)), 10.0, 0.5)


def test_an_old_header_stamp_makes_a_just_received_input_old():
    assert input_age(sample(received=10.0, stamp=7.0), now=10.0) == 3.0
    assert input_age(sample(received=9.0, stamp=0.0), now=10.0) == 1.0  # unstamped: arrival counts


def test_gate_sends_one_hold_after_commands_then_stays_silent():
    sent = []
    gate = CommandGate(sent.append)
    assert not gate.send("command")  # closed until opened
    gate.open()
    assert not gate.hold("hold")  # nothing commanded yet: nothing to hold
    assert gate.send("c1") and gate.send("c2")
    assert gate.hold("hold")
    assert not gate.hold("hold")
    assert sent == ["c1", "c2", "hold"]
    assert gate.send("c3") and sent[-1] == "c3"


def test_gate_close_always_holds_and_blocks_later_commands():
    sent = []
    gate = CommandGate(sent.append)
    gate.open()
    gate.close("hold")
    assert not gate.send("late decision")
    assert sent == ["hold"] and not gate.is_open


def test_a_stamp_from_another_clock_is_named_a_clock_mismatch():
    from ros2_vid2world.ros.latest_inputs import Sample

    frame = Sample(np.zeros((2, 2, 3), np.uint8), stamp=1.2, received=1.7e9, seq=1)
    joints = Sample(np.zeros(2), stamp=1.2, received=1.7e9, seq=2)
    reason = unsafe_reason(frame, joints, now=1.7e9, max_age=0.5, clock="wall clock")
    assert reason.startswith("clock mismatch: the newest camera image is stamped 1.200 s")
    assert "wall clock" in reason and "use_sim_time" in reason
