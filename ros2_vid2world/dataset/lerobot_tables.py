"""One episode's rows of a LeRobot parquet table, as numpy arrays (pyarrow is imported when a table is read).

Vectors are stored as list columns (fixed-size lists when written through Hugging Face `datasets`), a
one-dimensional feature as a plain number column; an "image" feature as a struct of PNG/JPEG bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from .lerobot_format import LeRobotEpisode


class EpisodeTables:
    """Reads episodes' rows; the last file read is kept, since a v3.0 file holds many episodes in a row."""

    def __init__(self, root: Path):
        self.root = root
        self._key: tuple | None = None
        self._table = None

    def rows(self, episode: LeRobotEpisode, columns: list[str]):
        """The episode's rows (a pyarrow Table of `columns`) by frame_index, checked against its length."""
        import pyarrow.compute as pc

        path = self.root / episode.data_file
        wanted = list(dict.fromkeys(["episode_index", "frame_index", *columns]))
        if self._key != (path, tuple(wanted)):
            self._table, self._key = _read(path, wanted), (path, tuple(wanted))
        rows = self._table.filter(pc.equal(self._table["episode_index"], episode.index))
        rows = rows.sort_by("frame_index")
        if rows.num_rows != episode.length:
            raise ValueError(
                f"{path}: episode {episode.index} has {rows.num_rows} rows; the episode metadata says "
                f"{episode.length}."
            )
        return rows


def _read(path: Path, columns: list[str]):
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        raise ValueError(f"the data file {str(path)!r} is missing.")
    try:
        available = pq.read_schema(path).names
        missing = [column for column in columns if column not in available]
        if missing:
            raise ValueError(f"{path}: no column {', '.join(missing)}; it has: {', '.join(available)}.")
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise ValueError(f"{path}: not a readable parquet table ({exc}).") from None


def vector_column(rows, key: str, where: str) -> np.ndarray:
    """float32 [T, D] from a list column (or [T, 1] from a number column); `where` names it in errors."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = rows[key].combine_chunks()
    kind = column.type
    if column.null_count:
        raise ValueError(f"{where}: {key} has {column.null_count} empty rows.")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return column.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, 1)
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)):
        raise ValueError(f"{where}: {key} holds {kind}; expected a list of numbers per row.")
    lengths = np.unique(pc.list_value_length(column).to_numpy(zero_copy_only=False))
    values = column.flatten()
    if len(lengths) != 1 or not (pa.types.is_integer(values.type) or pa.types.is_floating(values.type)):
        raise ValueError(
            f"{where}: {key} holds {kind} with lengths {lengths.tolist()}; expected numbers, one length."
        )
    return values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(len(column), int(lengths[0]))


def image_column(rows, key: str, where: str) -> list[np.ndarray]:
    """uint8 [H, W, 3] RGB frames from an "image" column (Hugging Face Image: {bytes, path} per row)."""
    frames = []
    for index, cell in enumerate(rows[key].to_pylist()):
        data = cell.get("bytes") if isinstance(cell, dict) else None
        if not data:
            raise ValueError(f"{where}: {key} row {index} holds no image bytes (only a path to a file).")
        try:
            with PILImage.open(io.BytesIO(data)) as image:
                frames.append(np.asarray(image.convert("RGB")))
        except OSError as exc:
            raise ValueError(f"{where}: {key} row {index} is not a readable image ({exc}).") from None
    return frames
