"""One rosbag2 (sqlite3 or mcap) opened with `rosbags`, with every failure turned into one clear ValueError.

`rosbags` raises its own error classes, FileNotFoundError, sqlite3 errors or struct errors depending on
where a bag is broken; callers here only need to know which bag, what is wrong and, for a bag that breaks
while being read, how far reading got.

Every tool that reads bags (dataset, eval-bag, replay) opens them here, so message definitions
(`message_types`) and the check of what was read against the bag's metadata are the same for all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from rosbags.rosbag2 import Reader

from .message_types import MessageTypes, ResolvedTypes, recorded_distro, resolve_types

LOGGER = logging.getLogger(__name__)

MessageRecord = tuple[object, int, bytes]  # (rosbags Connection, receive time ns, CDR bytes)


class BagFile:
    """A rosbag2 folder opened for reading. Use as a context manager.

    Raises ValueError for a path that does not exist, is not a rosbag2 folder, cannot be opened, or
    holds no messages. `types` says where definitions come from when the bag stores none.
    """

    def __init__(self, path: str | os.PathLike, types: MessageTypes | None = None):
        self.path = Path(path)
        self.types = types or MessageTypes()
        if not self.path.exists():
            raise ValueError(f"bag {str(self.path)!r} does not exist.")
        if not (self.path.is_dir() and (self.path / "metadata.yaml").is_file()):
            raise ValueError(
                f"bag {str(self.path)!r} is not a rosbag2 folder (a folder with metadata.yaml and "
                ".db3 or .mcap files)."
            )
        self._reader: Reader | None = None
        self._resolved: ResolvedTypes | None = None
        self._count_warned = False

    def __enter__(self) -> BagFile:
        try:
            reader = Reader(self.path)
            reader.open()
        except Exception as exc:  # ReaderError, FileNotFoundError, sqlite3 and mcap errors alike
            raise ValueError(
                f"bag {str(self.path)!r} cannot be opened (truncated or corrupted?): {_reason(exc)}"
            ) from None
        self._reader = reader
        if reader.message_count == 0:
            self.close()
            raise ValueError(f"bag {str(self.path)!r} holds no messages.")
        try:
            self._resolved = resolve_types(reader.connections, self.types, self._recorded_distro())
        except ValueError:
            self.close()
            raise
        if self._resolved.standard_from:
            LOGGER.info(
                f"bag {str(self.path)!r} stores no definition of some of its message types: read with "
                f"the standard messages of {self._resolved.standard_from}."
            )
        return self

    def _recorded_distro(self) -> tuple[str, str]:
        metadata = self.reader.storage.metadata
        version = _metadata_version(self.path / "metadata.yaml")
        return recorded_distro(version, metadata.ros_distro, sorted(self.path.iterdir()))

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            try:
                reader.close()
            except Exception:  # closing a broken file must not hide the error being reported
                pass

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            raise RuntimeError("BagFile is not open; use it as a context manager.")
        return self._reader

    @property
    def start_time(self) -> int:
        """Bag time (ns) of the first message."""
        return self.reader.start_time

    @property
    def definitions(self) -> str:
        """Where message definitions came from, in words (for summaries)."""
        standard = self._resolved.standard_from if self._resolved else None
        return f"standard messages of {standard}" if standard else "stored in the bag"

    @property
    def storage(self) -> str:
        """ "mcap" or "sqlite3", from the storage files in the folder."""
        return "mcap" if any(self.path.glob("*.mcap*")) else "sqlite3"

    def topics(self) -> dict[str, str]:
        """Topic name -> message type, for every topic in the bag."""
        return {name: info.msgtype or "?" for name, info in sorted(self.reader.topics.items())}

    def describe_topics(self) -> str:
        return ", ".join(f"{name} ({msgtype})" for name, msgtype in self.topics().items()) or "none"

    def connections(self, topic: str, allowed_types: Sequence[str], role: str) -> list:
        """The connections of `topic`, after checking it exists and carries one of `allowed_types`."""
        found = [c for c in self.reader.connections if c.topic == topic]
        if not found:
            raise ValueError(
                f"bag {str(self.path)!r}: {role} topic {topic!r} is not in the bag. "
                f"Its topics: {self.describe_topics()}."
            )
        msgtypes = sorted({c.msgtype for c in found})
        if len(msgtypes) > 1 or msgtypes[0] not in allowed_types:
            raise ValueError(
                f"bag {str(self.path)!r}: {role} topic {topic!r} carries {', '.join(msgtypes)}; "
                f"supported: {', '.join(allowed_types)}."
            )
        self.require_definition(topic, msgtypes[0])
        return found

    def require_definition(self, topic: str, msgtype: str) -> None:
        """ValueError naming the topic, the type and how to provide it, when its definition is unknown."""
        self._resolved.require(str(self.path), topic, msgtype)

    def message_count(self, connections: Sequence) -> int:
        return sum(c.msgcount for c in connections)

    def messages(self, connections: Sequence) -> Iterator[MessageRecord]:
        """(connection, receive time ns, raw CDR bytes) in receive-time order.

        A bag that breaks part-way (truncated copy, disk error) raises ValueError saying how many
        messages were read and the bag time of the last good one.
        """
        count, last_ns = 0, None
        read = {c.id: 0 for c in connections}
        iterator = self.reader.messages(connections=connections)
        while True:
            try:
                record = next(iterator)
            except StopIteration:
                self._check_counts(connections, read)
                return
            except Exception as exc:
                where = (
                    "before any message could be read"
                    if last_ns is None
                    else f"after {count} messages (last good bag time {last_ns / 1e9:.3f} s)"
                )
                raise ValueError(
                    f"bag {str(self.path)!r} is truncated or corrupted: reading stopped {where}: "
                    f"{_reason(exc)}"
                ) from None
            count, last_ns = count + 1, record[1]
            read[record[0].id] += 1
            yield record

    def _check_counts(self, connections: Sequence, read: dict[int, int]) -> None:
        """After reading every message of `connections`: nothing read where the metadata lists messages is
        an error; other differences are a warning naming the topics and both counts."""
        listed: dict[str, int] = {}
        got: dict[str, int] = {}
        for connection in connections:
            listed[connection.topic] = listed.get(connection.topic, 0) + connection.msgcount
            got[connection.topic] = got.get(connection.topic, 0) + read[connection.id]
        differ = [topic for topic in listed if listed[topic] != got[topic]]
        if not differ:
            return
        counts = ", ".join(f"{topic}: {got[topic]} read, {listed[topic]} listed" for topic in differ)
        if not any(got.values()) and any(listed.values()):
            raise ValueError(
                f"bag {str(self.path)!r}: its metadata.yaml lists messages that its files do not hold "
                f"({counts}); is a storage file missing, or from another recording?"
            )
        if not self._count_warned:  # once per bag, not once per replay loop
            self._count_warned = True
            LOGGER.warning(
                f"warning: bag {str(self.path)!r}: messages read differ from its metadata.yaml: {counts}."
            )

    def deserialize(self, raw: bytes, msgtype: str, receive_ns: int):
        try:
            return self._resolved.typestore.deserialize_cdr(raw, msgtype)
        except Exception as exc:
            raise ValueError(
                f"bag {str(self.path)!r}: a {msgtype} message at bag time {receive_ns / 1e9:.3f} s "
                f"cannot be decoded (corrupted?): {_reason(exc)}"
            ) from None


def _metadata_version(path: Path) -> int:
    """rosbag2's metadata version (the reader has already parsed the file; 0 if it is not an int)."""
    from ruamel.yaml import YAML  # rosbags reads metadata.yaml with it too

    version = YAML(typ="safe").load(path.read_text())["rosbag2_bagfile_information"].get("version")
    return version if isinstance(version, int) else 0


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
