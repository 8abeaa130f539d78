"""Where a bag's message definitions come from: the bag itself, a ROS 2 release's standard messages,
or a lab's own .msg/.idl files.

rosbag2 stores message definitions in the bag only since Iron (sqlite3) and in mcap files written with
definitions at hand; a bag recorded on Foxy, Galactic or Humble with sqlite3 (the default storage up to
Humble) has none. Such a bag is fine: its standard messages are read with the definitions of the release
that recorded it (rosbags ships them), and custom types with the .msg/.idl files given by `--msg-path`.

Each channel is resolved on its own, so one channel whose stored definition cannot be parsed (service
events: rosbag2 stores the raw .srv text) or is empty (action feedback topics) does not stop a tool
that reads other topics; only a topic that is read and cannot be resolved is an error.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rosbags.interfaces import MessageDefinitionFormat
from rosbags.typesys import Stores, get_types_from_idl, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

LOGGER = logging.getLogger(__name__)

# ROS 2 releases whose standard messages rosbags ships, oldest first.
ROS_DISTROS = tuple(s.value.removeprefix("ros2_") for s in Stores if s.value.startswith("ros2_"))

# rosbag2's metadata.yaml version -> the newest release that writes it. Versions 7 and later also
# record the release itself (`ros_distro`), which is used first.
DISTRO_OF_METADATA_VERSION = {1: "dashing", 2: "dashing", 3: "eloquent", 4: "foxy", 5: "humble", 6: "humble",
                              7: "iron", 8: "iron"}
SEPARATOR = "=" * 80 + "\n"


@dataclass(frozen=True)
class MessageTypes:
    """ros_distro: whose standard messages read a bag that stores no definitions (None: the release
    that recorded it, from its metadata); msg_paths: folders searched for .msg/.idl files of custom
    message types (`<package>/msg/<Name>.msg`, or any .idl)."""

    ros_distro: str | None = None
    msg_paths: tuple[Path, ...] = ()

    def __post_init__(self):
        if self.ros_distro is not None and self.ros_distro not in ROS_DISTROS:
            raise ValueError(f"--ros-distro must be one of {list(ROS_DISTROS)}. Got {self.ros_distro!r}.")
        for path in self.msg_paths:
            if not Path(path).is_dir():
                raise ValueError(f"--msg-path {str(path)!r} is not a folder.")
            if not any(_definition_files(Path(path))):
                raise ValueError(
                    f"--msg-path {str(path)!r} holds no .msg or .idl file "
                    "(expected <package>/msg/<Name>.msg)."
                )

    def custom_definitions(self) -> dict:
        """The types defined by the .msg/.idl files under msg_paths (rosbags' Typesdict)."""
        types: dict = {}
        for folder in self.msg_paths:
            for path in _definition_files(Path(folder)):
                try:
                    if path.suffix == ".idl":
                        types.update(get_types_from_idl(path.read_text()))
                    else:
                        types.update(get_types_from_msg(path.read_text(), _msg_type_name(path)))
                except Exception as exc:
                    raise ValueError(f"--msg-path: {path} cannot be parsed: {_first_line(exc)}") from None
        return types


def _definition_files(folder: Path) -> Iterable[Path]:
    yield from sorted(p for p in folder.rglob("*") if p.suffix in (".msg", ".idl") and p.is_file())


def _msg_type_name(path: Path) -> str:
    """.../<package>/msg/<Name>.msg -> "<package>/msg/<Name>"."""
    if path.parent.name != "msg":
        raise ValueError(f"--msg-path: {path} is not in a <package>/msg/ folder; its type cannot be named.")
    return f"{path.parent.parent.name}/msg/{path.stem}"


def recorded_distro(
    metadata_version: int, metadata_distro: str | None, storage_files: list[Path]
) -> tuple[str, str]:
    """(release, how it was found) for a bag without stored definitions."""
    if metadata_distro in ROS_DISTROS:
        return metadata_distro, "its metadata's ros_distro"
    for path in storage_files:
        distro = _sqlite_schema_distro(path)
        if distro in ROS_DISTROS:
            return distro, f"the ros_distro of {path.name}"
    if metadata_version in DISTRO_OF_METADATA_VERSION:
        distro = DISTRO_OF_METADATA_VERSION[metadata_version]
        return distro, f"metadata version {metadata_version}, the newest release writing it"
    return ROS_DISTROS[-1], f"metadata version {metadata_version}: the newest release known"


def _sqlite_schema_distro(path: Path) -> str | None:
    """The ros_distro a Humble-or-later sqlite3 recorder writes into its `schema` table, if any."""
    if path.suffix != ".db3" or not path.is_file():
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        row = db.execute("SELECT ros_distro FROM schema").fetchone()
    except sqlite3.Error:  # Foxy and Galactic files have no schema table
        return None
    finally:
        db.close()
    return row[0] if row else None


@dataclass
class ResolvedTypes:
    """A typestore for one bag, and why each unresolved message type could not be resolved."""

    typestore: Typestore
    unresolved: dict[str, str]
    standard_from: str | None  # "ros2 humble (metadata version 5, ...)" when standard messages were used

    def require(self, bag: str, topic: str, msgtype: str) -> None:
        """ValueError naming the topic, its type and how to provide the definition, if unresolved."""
        if msgtype in self.unresolved:
            raise ValueError(
                f"bag {bag!r}: topic {topic} carries {msgtype}, {self.unresolved[msgtype]}; pass "
                "--msg-path DIR (a folder with its <package>/msg/*.msg or .idl files), or --ros-distro."
            )


def resolve_types(connections: list, sources: MessageTypes, distro: tuple[str, str]) -> ResolvedTypes:
    """Register, per message type: the bag's own definition, else a --msg-path one, else the standard
    one of `distro` (release, how it was chosen); a type none of them defines is left unresolved."""
    store = get_typestore(Stores.EMPTY)
    failed: dict[str, str] = {}
    for msgtype, definition in sorted({(c.msgtype, c.msgdef) for c in connections}, key=lambda x: x[0]):
        # A recorder that could not find a definition stores an empty one (mcap schemas, Iron+ sqlite3).
        stored = definition.format != MessageDefinitionFormat.NONE and definition.data.strip()
        if not stored or msgtype in store.fielddefs:
            continue
        try:
            _register_missing(store, _parse_stored(definition, msgtype))
        except Exception as exc:  # service events store .srv text; other tools write what rosbags can't parse
            failed[msgtype] = f"whose stored definition cannot be parsed ({_first_line(exc)})"
    release = sources.ros_distro or distro[0]
    standard_from = None
    if {c.msgtype for c in connections} - store.fielddefs.keys():
        _register_missing(store, sources.custom_definitions())
        standard = get_typestore(Stores(f"ros2_{release}")).fielddefs
        if ({c.msgtype for c in connections} - store.fielddefs.keys()) & standard.keys():
            how = "--ros-distro" if sources.ros_distro else distro[1]
            standard_from = f"ROS 2 {release} ({how})"
        _register_missing(store, standard)
    unresolved = {
        msgtype: failed.get(msgtype, f"whose definition is neither in the bag nor a ROS 2 {release} message")
        for msgtype in {c.msgtype for c in connections} - store.fielddefs.keys()
    }
    return ResolvedTypes(store, unresolved, standard_from)


def _parse_stored(definition, msgtype: str) -> dict:
    if definition.format == MessageDefinitionFormat.MSG:
        return get_types_from_msg(definition.data, msgtype)
    if definition.data.startswith(f"{SEPARATOR}IDL: "):  # several IDL files, each under a header line
        types: dict = {}
        for block in definition.data.split(SEPARATOR)[1:]:
            types.update(get_types_from_idl(block.split("\n", 1)[1]))
        return types
    return get_types_from_idl(definition.data)


def _register_missing(store: Typestore, types: dict) -> None:
    """Add the types the store lacks; a definition the bag carries wins over any other source."""
    new = {name: value for name, value in types.items() if name not in store.fielddefs}
    if new:
        store.register(new)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
