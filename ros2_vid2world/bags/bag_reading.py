"""One rosbag2 (sqlite3 or mcap) opened with `rosbags`, with every failure turned into one clear ValueError.

`rosbags` raises its own error classes, FileNotFoundError, sqlite3 errors or struct errors depending on
where a bag is broken; callers here only need to know which bag, what is wrong and, for a bag that breaks
while being read, how far reading got.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from rosbags.highlevel import AnyReader

MessageRecord = tuple[object, int, bytes]  # (rosbags Connection, receive time ns, CDR bytes)


class BagFile:
    """A rosbag2 folder opened for reading. Use as a context manager.

    Raises ValueError for a path that does not exist, is not a rosbag2 folder, cannot be opened, or
    holds no messages.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            raise ValueError(f"bag {str(self.path)!r} does not exist.")
        if not (self.path.is_dir() and (self.path / "metadata.yaml").is_file()):
            raise ValueError(
                f"bag {str(self.path)!r} is not a rosbag2 folder (a folder with metadata.yaml and "
                ".db3 or .mcap files)."
            )
        self._reader: AnyReader | None = None

    def __enter__(self) -> BagFile:
        try:
            reader = AnyReader([self.path])
            reader.open()
        except Exception as exc:  # AnyReaderError, FileNotFoundError, sqlite3 and mcap errors alike
            raise ValueError(
                f"bag {str(self.path)!r} cannot be opened (truncated or corrupted?): {_reason(exc)}"
            ) from None
        self._reader = reader
        if reader.message_count == 0:
            self.close()
            raise ValueError(f"bag {str(self.path)!r} holds no messages.")
        return self

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
    def reader(self) -> AnyReader:
        if self._reader is None:
            raise RuntimeError("BagFile is not open; use it as a context manager.")
        return self._reader

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
        return found

    def message_count(self, connections: Sequence) -> int:
        return sum(c.msgcount for c in connections)

    def messages(self, connections: Sequence) -> Iterator[MessageRecord]:
        """(connection, receive time ns, raw CDR bytes) in receive-time order.

        A bag that breaks part-way (truncated copy, disk error) raises ValueError saying how many
        messages were read and the bag time of the last good one.
        """
        count, last_ns = 0, None
        iterator = self.reader.messages(connections=connections)
        while True:
            try:
                record = next(iterator)
            except StopIteration:
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
            yield record

    def deserialize(self, raw: bytes, msgtype: str, receive_ns: int):
        try:
            return self.reader.deserialize(raw, msgtype)
        except Exception as exc:
            raise ValueError(
                f"bag {str(self.path)!r}: a {msgtype} message at bag time {receive_ns / 1e9:.3f} s "
                f"cannot be decoded (corrupted?): {_reason(exc)}"
            ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
