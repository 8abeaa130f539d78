"""Replaying a bag into ROS 2 with its recorded timing and a /clock, as `ros2 bag play --clock` does.

The bag's CDR bytes are published as they are (no deserialization). The playback clock maps bag time
to wall time at `rate`; /clock carries the playback clock for nodes with `use_sim_time`. A recorded
/clock topic is not replayed (the player publishes its own) unless /clock is off (`clock_rate_hz=0`).

Loop restarts are announced three ways, so nodes can reset: /clock jumps back to the bag's start,
`/replay/loop` (std_msgs/UInt32, reliable, transient local) carries the number of the loop starting,
and a line goes to stderr.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field

from .bag_reading import BagFile
from .message_classes import message_class
from .output_recording import OutputRecorder

LOOP_TOPIC = "/replay/loop"
NS = 1_000_000_000


@dataclass(frozen=True)
class ReplayConfig:
    """rate: playback speed (2 = twice as fast); topics: replay only these (empty: all);
    clock_rate_hz: /clock messages per second of wall time (0: no /clock); loop: start again at
    the end (max_loops: stop after that many, 0 = until Ctrl-C); wait_for_subscribers_s: before
    starting, wait up to this long for every topic to have a subscriber; record: bag to write
    the graph's other topics into (record_topics: only these), record_tail_s: how long to keep
    recording after playback ends."""

    rate: float = 1.0
    topics: tuple[str, ...] = ()
    clock_rate_hz: float = 40.0
    loop: bool = False
    max_loops: int = 0
    delay_s: float = 0.0
    wait_for_subscribers_s: float = 0.0
    record: str | None = None
    record_topics: tuple[str, ...] = ()
    record_storage: str = "mcap"
    record_tail_s: float = 1.0

    def __post_init__(self):
        if not self.rate > 0:
            raise ValueError(f"--rate must be > 0. Got {self.rate}.")
        for name in ("clock_rate_hz", "delay_s", "wait_for_subscribers_s", "record_tail_s", "max_loops"):
            if getattr(self, name) < 0:
                raise ValueError(f"`{name}` must be >= 0. Got {getattr(self, name)}.")


class PlaybackClock:
    """Bag time <-> monotonic wall time at `rate`, restarted at every loop."""

    def __init__(self, rate: float):
        self.rate = rate
        self._wall0 = self._bag0 = 0

    def start(self, bag_ns: int) -> None:
        self._wall0, self._bag0 = time.monotonic_ns(), bag_ns

    def now_ns(self) -> int:
        """The bag time being played now."""
        return self._bag0 + int((time.monotonic_ns() - self._wall0) * self.rate)

    def wall_ns(self, bag_ns: int) -> int:
        """When (monotonic ns) bag time `bag_ns` is due."""
        return self._wall0 + int((bag_ns - self._bag0) / self.rate)


@dataclass
class ReplaySummary:
    published: dict[str, int] = field(default_factory=dict)
    loops: int = 0
    interrupted: bool = False
    recorded: dict[str, int] | None = None
    record_path: str | None = None


def replayed_connections(bag: BagFile, config: ReplayConfig) -> list:
    """The bag's connections to publish; ValueError for a --topics entry missing from the bag or an
    unimportable message type (checked before anything is published).

    Without --topics, channels that cannot be published as messages here (service events, split events,
    types whose package is not installed) are skipped with a line on stderr, never fatal."""
    topics = bag.topics()
    for topic in config.topics:
        if topic not in topics:
            raise ValueError(
                f"bag {str(bag.path)!r}: topic {topic!r} is not in the bag. "
                f"Its topics: {bag.describe_topics()}."
            )
    chosen = set(config.topics) or {t for t in topics if not (t == "/clock" and config.clock_rate_hz > 0)}
    connections = [c for c in bag.reader.connections if c.topic in chosen]
    unpublishable = {c.topic: _why_unpublishable(c.msgtype) for c in connections}
    if config.topics:
        for connection in connections:
            message_class(connection.msgtype)  # the reason, as an error
        return connections
    kept = [c for c in connections if unpublishable[c.topic] is None]
    if not kept:
        reasons = "; ".join(f"{topic}: {why}" for topic, why in unpublishable.items() if why)
        raise ValueError(f"bag {str(bag.path)!r}: no topic to replay. {reasons}".rstrip(". ") + ".")
    for topic, why in unpublishable.items():
        if why:
            print(f"replay: skipping {topic}: {why}", file=sys.stderr, flush=True)
    return kept


def _why_unpublishable(msgtype: str) -> str | None:
    """None for a message type this Python can publish, else why not."""
    if "/srv/" in msgtype or "/action/" in msgtype:
        return f"{msgtype} is a service or action event, not a message type"
    try:
        message_class(msgtype)
    except ValueError as exc:
        return str(exc)
    return None


class BagPlayer:
    """Publishes one open bag on `node`; `run()` plays it (and loops), returning a ReplaySummary."""

    def __init__(self, node, bag: BagFile, config: ReplayConfig):
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
        from rosgraph_msgs.msg import Clock
        from std_msgs.msg import UInt32

        self.node, self.bag, self.config = node, bag, config
        self.connections = replayed_connections(bag, config)
        classes = {c.topic: message_class(c.msgtype) for c in self.connections}
        # Reliable publishers match both reliable and best-effort subscribers.
        qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        self.publishers = {topic: node.create_publisher(cls, topic, qos) for topic, cls in classes.items()}
        self._clock_msg = Clock
        self._clock_pub = node.create_publisher(Clock, "/clock", qos) if config.clock_rate_hz > 0 else None
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self._loop_msg = UInt32
        self._loop_pub = node.create_publisher(UInt32, LOOP_TOPIC, latched)
        self.clock = PlaybackClock(config.rate)
        self._next_clock_ns = 0
        self.summary = ReplaySummary(published={topic: 0 for topic in self.publishers})

    def wait_for_subscribers(self, recorder: OutputRecorder | None = None) -> None:
        """Wait (up to wait_for_subscribers_s) until every replayed topic has a subscriber and the
        recorder has found the topics it was asked to record."""
        deadline = time.monotonic() + self.config.wait_for_subscribers_s
        while time.monotonic() < deadline:
            matched = all(pub.get_subscription_count() > 0 for pub in self.publishers.values())
            if matched and (recorder is None or recorder.ready()):
                return
            time.sleep(0.05)

    def run(self) -> ReplaySummary:
        start_ns = self.bag.start_time
        loop = 0
        while True:
            loop += 1
            self._loop_pub.publish(self._loop_msg(data=loop))
            if loop > 1:
                print(
                    f"replay: loop {loop} starts; /clock jumps back from {self.clock.now_ns() / NS:.3f} s "
                    f"to {start_ns / NS:.3f} s",
                    file=sys.stderr,
                    flush=True,
                )
            self.clock.start(start_ns)
            self._next_clock_ns = 0
            self._play_once()
            self.summary.loops = loop
            if not self.config.loop or (self.config.max_loops and loop >= self.config.max_loops):
                return self.summary

    def _play_once(self) -> None:
        for connection, bag_ns, raw in self.bag.messages(self.connections):
            self.idle_until(self.clock.wall_ns(bag_ns))
            self.publishers[connection.topic].publish(raw)
            self.summary.published[connection.topic] += 1

    def idle_until(self, wall_ns: int) -> None:
        """Sleep until `wall_ns` (monotonic), publishing /clock on time meanwhile."""
        period_ns = int(NS / self.config.clock_rate_hz) if self._clock_pub else None
        while True:
            now = time.monotonic_ns()
            if period_ns and now >= self._next_clock_ns:
                self._publish_clock()
                self._next_clock_ns = now + period_ns
            if now >= wall_ns:
                return
            wake = wall_ns if not period_ns else min(wall_ns, self._next_clock_ns)
            time.sleep(max(wake - now, 0) / NS)

    def _publish_clock(self) -> None:
        from builtin_interfaces.msg import Time

        now = self.clock.now_ns()
        self._clock_pub.publish(self._clock_msg(clock=Time(sec=now // NS, nanosec=now % NS)))


def replay_bag(path: str | os.PathLike, config: ReplayConfig) -> ReplaySummary:
    """Replay the bag at `path` into ROS 2 until it ends (or Ctrl-C / SIGTERM); returns a summary.

    The bag and its topics are checked before ROS starts."""
    import rclpy
    from rclpy.signals import SignalHandlerOptions

    with BagFile(path) as bag:
        replayed_connections(bag, config)
        # Python's own Ctrl-C handling, so playback stops between two messages and the recording closes.
        rclpy.init(args=None, signal_handler_options=SignalHandlerOptions.NO)
        previous_term = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        # Even when started with SIGINT ignored (a script's background job), Ctrl-C stops the replay.
        previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
        node = None
        try:
            node = rclpy.create_node("vid2world_replay")
            return _play(node, bag, config)
        finally:
            if node:
                node.destroy_node()
            rclpy.try_shutdown()
            signal.signal(signal.SIGTERM, previous_term)
            signal.signal(signal.SIGINT, previous_int)


def _play(node, bag: BagFile, config: ReplayConfig) -> ReplaySummary:
    """Publish (and record) with an executor spinning in the background for the recorder's callbacks."""
    from rclpy.executors import SingleThreadedExecutor

    player = BagPlayer(node, bag, config)
    recorder = None
    if config.record:
        recorder = OutputRecorder(
            node,
            config.record,
            player.clock.now_ns,
            topics=list(config.record_topics),
            exclude=[*player.publishers, LOOP_TOPIC],
            storage=config.record_storage,
        )
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    try:
        try:
            player.wait_for_subscribers(recorder)
            time.sleep(config.delay_s)
            summary = player.run()
            if recorder:
                player.idle_until(time.monotonic_ns() + int(config.record_tail_s * NS))
        except KeyboardInterrupt:
            summary = player.summary
            summary.interrupted = True
        if recorder:
            summary.recorded = dict(recorder.counts)
            summary.record_path = str(recorder.close())
            recorder = None
        return summary
    finally:
        if recorder:
            recorder.abort()
        executor.shutdown(timeout_sec=1.0)
        # The node is destroyed and rclpy shut down next: a spin thread still inside the wait set
        # then aborts the process at exit ("terminate called without an active exception").
        spinner.join(timeout=5.0)


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
