"""Everything a demo run produced so far; the report is written from it, also after a fault or Ctrl-C."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from .demo_settings import DemoSettings
from .episode_record import POLICIES, EpisodeRecord
from .model_check import ModelInfo
from .start_goal_pairs import Pair

STATUSES = ("running", "complete", "failed", "interrupted")


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float] | None:
    """95% Wilson score interval of a success rate (sensible also at 0 or n successes of few trials)."""
    if trials == 0:
        return None
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class DemoResult:
    settings: DemoSettings
    model: ModelInfo
    episodes: dict[str, list[EpisodeRecord]] = field(default_factory=lambda: {p: [] for p in POLICIES})
    status: str = "running"
    error: str | None = None
    timings_s: dict[str, float] = field(default_factory=dict)
    # The distance within which the task's criterion can hold: the reacher's success radius, the push
    # task's position tolerance (which also bounds the block's angle: see the report's criterion).
    success_radius_m: float | None = None
    ran: dict[str, bool] = field(default_factory=lambda: {p: False for p in POLICIES})
    # seed -> the start and goal poses of its pair, read from the simulator's resets before the episodes
    pairs: dict[int, Pair] = field(default_factory=dict)

    def success_rate(self, policy: str) -> float | None:
        records = self.episodes[policy]
        return sum(r.success for r in records) / len(records) if records else None

    def interval(self, policy: str) -> tuple[float, float] | None:
        records = self.episodes[policy]
        return wilson_interval(sum(r.success for r in records), len(records))

    def latency(self, policy: str) -> dict | None:
        """Per-decision wall time over all of a policy's episodes: median, mean, max, count."""
        values = [v for record in self.episodes[policy] for v in record.latencies_s]
        if not values:
            return None
        return {
            "median_s": round(statistics.median(values), 4),
            "mean_s": round(statistics.fmean(values), 4),
            "max_s": round(max(values), 4),
            "decisions": len(values),
        }
