"""Training metrics as CSV (always) and TensorBoard (when it is installed)."""

from __future__ import annotations

import csv
from pathlib import Path

FIELDS = ("stage", "step", "loss", "lr", "grad_norm", "clips_per_s")


class MetricsLog:
    """Rows go to `<work_dir>/metrics.csv`. On resume, rows logged after the checkpoint are dropped,
    since those steps are run again."""

    def __init__(self, work_dir: Path, enabled: bool = True, truncate_after: dict | None = None):
        self.enabled = enabled
        self._tensorboard = None
        if not enabled:
            return
        path = work_dir / "metrics.csv"
        kept = []
        if path.is_file() and truncate_after is not None:
            order = {"pretrain": 0, "transfer": 1}
            limit = (order[truncate_after["stage"]], truncate_after["step"])
            with open(path, newline="") as f:
                kept = [r for r in csv.DictReader(f) if (order[r["stage"]], int(r["step"])) <= limit]
        self._file = open(path, "w", newline="")
        self._writer = csv.DictWriter(self._file, fieldnames=FIELDS)
        self._writer.writeheader()
        self._writer.writerows(kept)
        try:
            from torch.utils.tensorboard import SummaryWriter

            self._tensorboard = SummaryWriter(str(work_dir / "tensorboard"))
        except ImportError:  # TensorBoard is optional
            pass

    def write(self, row: dict) -> None:
        if not self.enabled:
            return
        self._writer.writerow(row)
        if self._tensorboard is not None:
            for key in ("loss", "lr", "grad_norm", "clips_per_s"):
                self._tensorboard.add_scalar(f"{row['stage']}/{key}", row[key], row["step"])

    def flush(self) -> None:
        if self.enabled:
            self._file.flush()

    def close(self) -> None:
        if self.enabled:
            self._file.close()
            if self._tensorboard is not None:
                self._tensorboard.close()
