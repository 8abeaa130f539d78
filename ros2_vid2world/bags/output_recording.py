"""Recording what nodes publish during a replay into a new bag (rosbags Writer), stamped on the replay's
clock so the outputs line up with the recorded inputs.

Topics are found in the ROS graph as they appear (nodes start at their own pace); messages arrive
serialized (`raw=True`) and are written as they are. The bag is written in a staging folder and moved
into place when it is closed, so only finished bags appear under the requested name.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from rosbags.rosbag2 import StoragePlugin, Writer
from rosbags.typesys import Stores, get_typestore

from ..world_model.folder import replace_folder
from .message_classes import message_class

STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
# Topics every ROS graph has, which nobody wants in a recording of a node's outputs.
GRAPH_TOPICS = ("/rosout", "/parameter_events", "/clock")


class OutputRecorder:
    """Subscribes to `topics` (or every topic not in `exclude` when `topics` is empty) as they appear in
    the graph of `node`, and writes each message with the time `now_ns()` gives."""

    def __init__(
        self,
        node,
        out: str | os.PathLike,
        now_ns: Callable[[], int],
        topics: list[str] | None = None,
        exclude: list[str] | None = None,
        storage: str = "mcap",
        poll_period_s: float = 0.2,
    ):
        from rclpy.qos import QoSProfile, ReliabilityPolicy

        if storage not in STORAGES:
            raise ValueError(f"`storage` must be one of {sorted(STORAGES)}. Got {storage!r}.")
        self.out = Path(out)
        self._node, self._now_ns = node, now_ns
        self._wanted = list(topics or [])
        self._exclude = set(exclude or []) | set(GRAPH_TOPICS)
        # Best effort matches reliable and best-effort publishers alike; on one machine nothing is lost.
        self._qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.BEST_EFFORT)
        self._typestore = get_typestore(Stores.LATEST)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._staging_parent = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.", dir=self.out.parent))
        self._writer = Writer(
            self._staging_parent / self.out.name, version=9, storage_plugin=STORAGES[storage]
        )
        self._writer.open()
        self._connections: dict[str, object] = {}
        self._subscriptions: dict[str, object] = {}
        self._skipped: set[str] = set()
        self.counts: dict[str, int] = {}
        self._closed = False
        # Messages are written from the executor's thread; closing happens on the caller's.
        self._lock = threading.Lock()
        self._timer = node.create_timer(poll_period_s, self._discover)

    def _discover(self) -> None:
        for topic, types in self._node.get_topic_names_and_types():
            if topic in self._connections or topic in self._skipped:
                continue
            if self._wanted and topic not in self._wanted:
                continue
            if not self._wanted and topic in self._exclude:
                continue
            self._subscribe(topic, types[0])

    def _subscribe(self, topic: str, msgtype: str) -> None:
        try:
            msg_class = message_class(msgtype)
            connection = self._writer.add_connection(topic, msgtype, typestore=self._typestore)
        except (ValueError, KeyError) as exc:
            self._skipped.add(topic)
            print(f"replay: not recording {topic} ({msgtype}): {exc}", file=sys.stderr)
            return
        self._connections[topic] = connection
        self.counts[topic] = 0
        self._subscriptions[topic] = self._node.create_subscription(
            msg_class, topic, lambda raw, topic=topic: self._write(topic, raw), self._qos, raw=True
        )

    def ready(self) -> bool:
        """True once every topic asked for by name is subscribed and has a publisher matched."""
        return all(
            topic in self._subscriptions and self._subscriptions[topic].get_publisher_count() > 0
            for topic in self._wanted
        )

    def _write(self, topic: str, raw: bytes) -> None:
        with self._lock:
            if self._closed:
                return
            self._writer.write(self._connections[topic], self._now_ns(), raw)
            self.counts[topic] += 1

    def close(self) -> Path:
        """Finish the bag and move it into place (replacing an older one). Returns its path."""
        with self._lock:
            self._closed = True
            self._node.destroy_timer(self._timer)
            self._writer.close()
        replace_folder(self._staging_parent / self.out.name, self.out)
        shutil.rmtree(self._staging_parent, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        with self._lock:
            self._closed = True
            try:
                self._writer.close()
            except Exception:  # the bag is being thrown away
                pass
        shutil.rmtree(self._staging_parent, ignore_errors=True)
