"""A live camera at full size and rate against a planning node: where do frames get lost, and at what cost.

    python -m ros2_vid2world.ros.camera_load --model models/reacher --seconds 600 [--size 640x480]
        [--rate 30] [--out camera_load.json]

planner_node runs as its own process (the parameters of config/demo.yaml's planner section, on the wall
clock, commands to a topic nobody listens to) against a goal it never reaches, so it decides without
pause. This process publishes rgb8 camera images (sensor-data QoS, as camera drivers do), joint states
at the same rate, and the goal, and reads the node's /diagnostics. The report: frames published and
frames the node's callback took (camera_frames_received), holds and their reasons (from the node's
log), decisions, and the node's resident memory at the start and the end. A measurement, for the
README and issue notes: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rclpy
import yaml
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import Image, JointState

from ..demo.demo_settings import PLANNER_NODE, find_shared, node_sections

STARTUP_TIMEOUT_S = 180.0


def resident_mb(pid: int) -> float | None:
    """A process's resident memory in MB (Linux /proc), or None."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(found[1]) / 1024 if found else None


def measure(model: Path, config: Path, seconds: float, size: tuple[int, int], rate: float, log: Path) -> dict:
    _, planner = node_sections(config)
    planner.update(use_sim_time=False, model_path=str(model.resolve()), autostart=True)
    planner["command_topic"] = "/camera_load/commands"  # no controller listens: nothing moves
    params = Path(tempfile.mkdtemp(prefix="camera_load_")) / "planner.yaml"
    params.write_text(yaml.safe_dump({PLANNER_NODE: {"ros__parameters": planner}}))
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS="1")
    script = Path(sys.executable).parent / "planner_node"
    with log.open("w") as log_file:
        node_process = subprocess.Popen(
            [str(script), "--ros-args", "--params-file", str(params)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    context = rclpy.Context()
    rclpy.init(context=context)
    node = rclpy.create_node("vid2world_camera_load", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    diagnostics: list[dict] = []

    def on_diagnostics(msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.startswith(PLANNER_NODE):
                diagnostics.append({kv.key: kv.value for kv in status.values})

    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)
    camera_topic = planner.get("image_topic", "/camera/image_raw")
    camera = node.create_publisher(Image, camera_topic, qos_profile_sensor_data)
    joints = node.create_publisher(JointState, planner.get("joint_states_topic", "/joint_states"), 10)
    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    goal = node.create_publisher(Image, planner["goal_image_topic"], latched)
    height, width = size
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8).tobytes() for _ in range(4)]
    names = list(planner["joint_names"])
    goal_pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    goal.publish(Image(height=64, width=64, encoding="rgb8", step=64 * 3, data=goal_pixels.tobytes()))
    sent = 0

    def publish_frame() -> None:
        nonlocal sent
        stamp = node.get_clock().now().to_msg()
        image = Image(height=height, width=width, encoding="rgb8", step=width * 3, data=frames[sent % 4])
        image.header.stamp = stamp
        camera.publish(image)
        state = JointState(name=names, position=[0.0] * len(names))
        state.header.stamp = stamp
        joints.publish(state)
        sent += 1

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not any(d.get("state") == "commanding" or d.get("decisions", "0") != "0" for d in diagnostics):
            if time.monotonic() > deadline or node_process.poll() is not None:
                raise RuntimeError(f"planner_node did not start planning; see {log}")
            publish_frame()
            executor.spin_once(timeout_sec=1.0 / rate)
        start_rss, start_sent = resident_mb(node_process.pid), sent
        start = diagnostics[-1]
        began = time.monotonic()
        next_frame = began
        while time.monotonic() - began < seconds:
            now = time.monotonic()
            if now >= next_frame:
                publish_frame()
                next_frame += 1.0 / rate
            executor.spin_once(timeout_sec=max(0.0, min(next_frame - time.monotonic(), 0.01)))
        # One more diagnostics message, the camera still running (a pause would be a hold of its own).
        seen, wait_until = len(diagnostics), time.monotonic() + 3.0
        while len(diagnostics) == seen and time.monotonic() < wait_until:
            if time.monotonic() >= next_frame:
                publish_frame()
                next_frame += 1.0 / rate
            executor.spin_once(timeout_sec=0.01)
        end = diagnostics[-1]
        end_rss = resident_mb(node_process.pid)
    finally:
        node_process.send_signal(2)
        node_process.wait(10)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    text = log.read_text()
    # Hold reasons without their numbers, so the kinds can be counted.
    reasons = [re.sub(r"[0-9.]+", "N", line.split("holding: ", 1)[1]) for line in text.splitlines()
               if "holding: " in line]
    received = int(end["camera_frames_received"]) - int(start["camera_frames_received"])
    published = sent - start_sent
    return {
        "seconds": seconds,
        "image": f"{width}x{height} rgb8",
        "rate_hz": rate,
        "frames_published": published,
        "frames_received_by_node": received,
        "frames_lost": published - received,
        "lost_fraction": round((published - received) / published, 4) if published else None,
        "holds": int(end["holds"]) - int(start["holds"]),
        "hold_reasons": {reason: reasons.count(reason) for reason in sorted(set(reasons))},
        "decisions": int(end["decisions"]) - int(start["decisions"]),
        "node_rss_mb_start": start_rss,
        "node_rss_mb_end": end_rss,
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ros2_vid2world.ros.camera_load", description=__doc__)
    parser.add_argument("--model", type=Path, default=find_shared("models/reacher"))
    parser.add_argument("--config", type=Path, default=find_shared("config/demo.yaml"))
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--size", default="640x480", help="WIDTHxHEIGHT")
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--out", type=Path, help="write the report here as JSON too")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    log = args.out.with_suffix(".log") if args.out else Path(tempfile.mkdtemp()) / "planner_node.log"
    report = measure(args.model, args.config, args.seconds, (height, width), args.rate, log)
    print(json.dumps(report, indent=2))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
