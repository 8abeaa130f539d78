"""Bags as rosbag2 itself writes them on older releases, made from records written with `rosbags`.

rosbags writes only the current format (metadata version 8 or 9, sqlite3 schema 4 with a
message_definitions table). The recorders labs have used wrote less:
- Humble, sqlite3: metadata version 5 (no ros_distro, custom_data or type hashes); the .db3 has a
  `schema` table (3, 'humble'), a `metadata` table, `topics` without type_description_hash, `messages`,
  and no message_definitions table. Galactic wrote the same metadata version.
- Foxy, sqlite3: metadata version 4 (no per-file list); the .db3 has only `topics` and `messages`.
- mcap written without definitions at hand: schemas with empty data.
A recording may be split across several storage files (`--max-bag-size`, `--max-bag-duration`).
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from ruamel.yaml import YAML

from .sim_bags import write_records

HUMBLE_TOPICS = """CREATE TABLE topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL, type TEXT NOT NULL,
    serialization_format TEXT NOT NULL, offered_qos_profiles TEXT NOT NULL)"""


def write_field_bag(
    path: Path, records: list, storage: str = "sqlite3", style: str = "humble", parts: int = 1
) -> None:
    """Write `records` as a bag of `style` ("humble", "foxy", "no_definitions" for mcap, "current"),
    split into `parts` storage files by time."""
    records = sorted(records, key=lambda r: r[2])
    bounds = [round(i * len(records) / parts) for i in range(parts + 1)]
    staging = path.parent / f".{path.name}.parts"
    shutil.rmtree(staging, ignore_errors=True)
    files, metadata = [], None
    for index in range(parts):
        part = staging / f"{path.name}_{index}"
        chunk = records[bounds[index] : bounds[index + 1]]
        no_definitions = {r[1]: "" for r in chunk} if style != "current" else None
        # Version 8 writes QoS profiles in the string form older recorders used.
        write_records(part, chunk, storage, version=8, definitions=no_definitions)
        files.append(next(p for p in part.iterdir() if p.suffix in (".db3", ".mcap")))
        metadata = _merge(metadata, _read_metadata(part))
    path.mkdir(parents=True)
    for file in files:
        file.rename(path / file.name)
        if storage == "sqlite3" and style in ("humble", "foxy"):
            _downgrade_db3(path / file.name, style)
    _write_metadata(path, metadata, style)
    shutil.rmtree(staging)


def _read_metadata(bag: Path) -> dict:
    return YAML(typ="safe").load((bag / "metadata.yaml").read_text())["rosbag2_bagfile_information"]


def _merge(total: dict | None, part: dict) -> dict:
    """One recording's metadata from its parts' (counts summed, topics united, files listed)."""
    if total is None:
        return part
    counts = {t["topic_metadata"]["name"]: t for t in total["topics_with_message_count"]}
    for topic in part["topics_with_message_count"]:
        name = topic["topic_metadata"]["name"]
        if name in counts:
            counts[name]["message_count"] += topic["message_count"]
        else:
            total["topics_with_message_count"].append(topic)
    start = total["starting_time"]["nanoseconds_since_epoch"]
    end = part["starting_time"]["nanoseconds_since_epoch"] + part["duration"]["nanoseconds"]
    total["duration"]["nanoseconds"] = end - start
    total["message_count"] += part["message_count"]
    total["relative_file_paths"] += part["relative_file_paths"]
    total["files"] += part["files"]
    return total


def _write_metadata(path: Path, metadata: dict, style: str) -> None:
    if style in ("humble", "foxy"):
        metadata["version"] = 5 if style == "humble" else 4
        for key in ("ros_distro", "custom_data"):
            metadata.pop(key, None)
        for topic in metadata["topics_with_message_count"]:
            topic["topic_metadata"].pop("type_description_hash", None)
        if style == "foxy":
            metadata.pop("files")
    yaml = YAML(typ="safe")
    yaml.default_flow_style = False
    with open(path / "metadata.yaml", "w") as out:
        yaml.dump({"rosbag2_bagfile_information": metadata}, out)


def _downgrade_db3(db3: Path, style: str) -> None:
    with sqlite3.connect(db3) as db:
        db.execute("DROP TABLE message_definitions")
        rows = db.execute("SELECT id, name, type, serialization_format, offered_qos_profiles FROM topics")
        rows = rows.fetchall()
        db.execute("DROP TABLE topics")
        db.execute(HUMBLE_TOPICS)
        db.executemany("INSERT INTO topics VALUES (?, ?, ?, ?, ?)", rows)
        if style == "humble":
            db.execute("UPDATE schema SET schema_version = 3, ros_distro = 'humble'")
            db.execute("UPDATE metadata SET metadata_version = 5")
        else:
            db.execute("DROP TABLE schema")
            db.execute("DROP TABLE metadata")
    db.close()


def table_names(db3: Path) -> set[str]:
    with sqlite3.connect(db3) as db:
        names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    db.close()
    return names
