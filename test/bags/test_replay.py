"""`vid2world replay` as its own process, checked by a subscriber in this one: recorded bytes and spacing,
/clock, announced loop restarts, Ctrl-C, and --record writing a node's outputs into a new bag.

Each run gets its own ROS_DOMAIN_ID and localhost-only discovery (test/conftest.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from rosbags.highlevel import AnyReader

from .sim_bags import IMAGE_TOPIC, MS, clock_msg, image_msg, write_records

pytest.importorskip("rclpy")
from test.ros.conftest import RosProbe  # noqa: E402 - needs rclpy

VID2WORLD = Path(sys.executable).parent / "vid2world"
FRAMES = 8
START_NS = 20_000 * MS
PERIOD_NS = 100 * MS
TIMEOUT_S = 60.0


def frame(index: int) -> np.ndarray:
    return np.full((4, 4, 3), 10 * index, np.uint8)


@pytest.fixture(scope="module")
def camera_bag(tmp_path_factory) -> Path:
    """8 frames at 10 Hz, and a recorded /clock the player must not replay (it publishes its own)."""
    path = tmp_path_factory.mktemp("bags") / "camera"
    records = []
    for index in range(FRAMES):
        stamp = START_NS + index * PERIOD_NS
        records.append((IMAGE_TOPIC, "sensor_msgs/msg/Image", stamp, image_msg(frame(index), stamp)))
        records.append(("/clock", "rosgraph_msgs/msg/Clock", stamp, clock_msg(stamp + 10**12)))
    write_records(path, records)
    return path


@pytest.fixture
def probe():
    probe = RosProbe("replay_probe")
    yield probe
    probe.close()


def start_replay(*args) -> subprocess.Popen:
    if not VID2WORLD.exists():
        pytest.skip(f"{VID2WORLD} is missing: pip install --no-deps --no-build-isolation --use-pep517 -e .")
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    return subprocess.Popen(
        [str(VID2WORLD), "replay", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return process.returncode, out, err


def clock_ns(msg) -> int:
    return msg.clock.sec * 1_000_000_000 + msg.clock.nanosec


def test_messages_arrive_as_recorded_with_their_spacing_and_a_clock(camera_bag, probe):
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image

    images = probe.collect(Image, IMAGE_TOPIC)
    clocks = probe.collect(Clock, "/clock")
    process = start_replay(camera_bag, "--rate", "2", "--wait-for-subscribers", "30")
    assert probe.spin_until(lambda: len(images) == FRAMES, TIMEOUT_S), f"got {len(images)} images"
    code, out, err = finish(process)
    assert code == 0, err
    assert "published /camera/image_raw: 8" in out and "/clock" not in out
    for index, (_, msg) in enumerate(images):
        np.testing.assert_array_equal(np.frombuffer(bytes(msg.data), np.uint8).reshape(4, 4, 3), frame(index))
        assert msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec == START_NS + index * PERIOD_NS
    # Recorded spacing 100 ms, played at twice the speed: 50 ms apart (scheduling jitter allowed).
    gaps = np.diff([arrival for arrival, _ in images])
    assert abs(np.median(gaps) - 0.050) < 0.015 and abs(gaps.sum() - 0.350) < 0.060, gaps
    # The player's own /clock: bag time, never going back; not the recorded /clock (10^12 s later).
    times = [clock_ns(msg) for _, msg in clocks]
    assert len(times) >= 5 and times == sorted(times)
    assert START_NS <= times[0] and times[-1] <= START_NS + FRAMES * PERIOD_NS


def test_loop_restarts_are_announced_and_ctrl_c_stops_cleanly(camera_bag, probe):
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image
    from std_msgs.msg import UInt32

    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    loops = probe.collect(UInt32, "/replay/loop", latched)
    clocks = probe.collect(Clock, "/clock")
    probe.collect(Image, IMAGE_TOPIC)  # --wait-for-subscribers waits for this one

    def jumps_back() -> int:
        times = np.array([clock_ns(msg) for _, msg in clocks])
        return int((np.diff(times) < 0).sum())

    process = start_replay(camera_bag, "--rate", "4", "--loop", "--wait-for-subscribers", "30")
    assert probe.spin_until(lambda: jumps_back() >= 2, TIMEOUT_S), [clock_ns(m) for _, m in clocks]
    process.send_signal(signal.SIGINT)
    code, out, err = finish(process)
    assert code == 0, err
    assert "loop 2 starts; /clock jumps back" in err and "loop 3 starts" in err
    assert out.startswith("replay interrupted:")
    # Every restart also goes out on /replay/loop, in order, and the clock restarts at the bag's start.
    probe.spin_for(0.2)
    assert [msg.data for _, msg in loops][:3] == [1, 2, 3]
    times = np.array([clock_ns(msg) for _, msg in clocks])
    restarts = times[1:][np.diff(times) < 0]
    assert ((restarts >= START_NS) & (restarts < START_NS + 2 * PERIOD_NS)).all()


def test_record_writes_the_nodes_outputs_on_the_replay_clock(camera_bag, probe, tmp_path):
    from sensor_msgs.msg import Image
    from std_msgs.msg import Float64MultiArray

    # A stand-in for the planner node: one command per camera frame, carrying the frame's index.
    commands = probe.node.create_publisher(Float64MultiArray, "/planner/commands", 10)
    probe.node.create_subscription(
        Image, IMAGE_TOPIC, lambda msg: commands.publish(Float64MultiArray(data=[msg.data[0] / 10.0])), 10
    )
    out = tmp_path / "outputs"
    process = start_replay(
        camera_bag, "--record", out, "--record-topics", "/planner/commands", "--wait-for-subscribers", "30",
        # The stand-in answers the last frame after playback ends; on a loaded machine (make test beside a
        # 50-pair demo) that took longer than the default 1 s tail once.
        "--record-tail", "3",
    )
    deadline = time.monotonic() + TIMEOUT_S
    while process.poll() is None and time.monotonic() < deadline:
        probe.spin_for(0.05)
    code, stdout, err = finish(process)
    assert code == 0, err
    assert f"recorded {out}: /planner/commands: {FRAMES}" in stdout
    with AnyReader([out]) as reader:
        records = [(stamp, reader.deserialize(raw, c.msgtype).data[0]) for c, stamp, raw in reader.messages()]
    assert [value for _, value in records] == list(range(FRAMES))
    # Stamped on the replay clock: each command lands just after its frame's bag time.
    for index, (stamp, _) in enumerate(records):
        assert 0 <= stamp - (START_NS + index * PERIOD_NS) < 50 * MS
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".outputs.")]
