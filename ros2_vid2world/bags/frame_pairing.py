"""Time alignment of recorded streams: nearest-in-time pairing, episode splitting and resampling.

Pure numpy on int64 nanosecond stamps, so it is tested without bags.
"""

from __future__ import annotations

import numpy as np

NS = 1_000_000_000


def median_period_ns(stamps_ns: np.ndarray) -> int:
    """Median spacing of sorted stamps; gaps between episodes are rare enough not to move it."""
    steps = np.diff(np.asarray(stamps_ns, dtype=np.int64))
    steps = steps[steps > 0]
    if not len(steps):
        raise ValueError("need at least two distinct timestamps to find a rate.")
    return int(np.median(steps))


def order_by_stamp(stamps_ns: np.ndarray, max_backstep_ns: int, what: str) -> np.ndarray:
    """Indices that sort `stamps_ns` (given in receive order), after checking time never jumps back.

    Messages may arrive slightly out of order (jitter, several publishers); a stamp that falls back
    by more than `max_backstep_ns` behind the latest one is a reset clock (simulator restart, looped
    replay) and would silently mix two runs, so it raises ValueError.
    """
    stamps_ns = np.asarray(stamps_ns, dtype=np.int64)
    if len(stamps_ns):
        running_max = np.maximum.accumulate(stamps_ns)
        back = running_max - stamps_ns
        worst = int(np.argmax(back))
        if back[worst] > max_backstep_ns:
            raise ValueError(
                f"{what}: timestamps go backwards by {back[worst] / NS:.3f} s at message {worst} "
                f"(from {running_max[worst] / NS:.3f} s to {stamps_ns[worst] / NS:.3f} s): was the clock "
                "reset (simulator restart, looped replay)? Split the bag there."
            )
    return np.argsort(stamps_ns, kind="stable")


def check_no_overlap(sorted_stamps_ns: np.ndarray, period_ns: int, what: str) -> None:
    """Raise ValueError when frames crowd together, as two recordings on one reset clock would.

    A bag whose receive times went backwards is read back sorted, so the jump itself is invisible;
    what remains is two runs interleaved, with frames a fraction of a period apart. A camera that
    sometimes repeats a stamp is tolerated (1% of frames).
    """
    steps = np.diff(np.asarray(sorted_stamps_ns, dtype=np.int64))
    crowded = np.flatnonzero(steps < period_ns // 4)
    if len(crowded) > max(1, len(steps) // 100):
        first = sorted_stamps_ns[crowded[0]]
        raise ValueError(
            f"{what}: timestamps go backwards: {len(crowded)} of {len(steps) + 1} frames fall within a "
            f"quarter period of another (first at {first / NS:.3f} s), as when the clock was reset "
            "(simulator restart, looped replay) or recordings overlap. Split the bag there."
        )


def nearest_indices(queries_ns: np.ndarray, stamps_ns: np.ndarray, tolerance_ns: int) -> np.ndarray:
    """For each query, the index of the nearest of the sorted `stamps_ns`, or -1 if none is within tolerance.

    queries_ns [N], stamps_ns [M] sorted ascending -> int64 [N].
    """
    queries_ns = np.asarray(queries_ns, dtype=np.int64)
    stamps_ns = np.asarray(stamps_ns, dtype=np.int64)
    if not len(stamps_ns):
        return np.full(len(queries_ns), -1, np.int64)
    last = len(stamps_ns) - 1
    right = np.clip(np.searchsorted(stamps_ns, queries_ns), 0, last)
    left = np.clip(right - 1, 0, last)
    pick_left = np.abs(queries_ns - stamps_ns[left]) <= np.abs(stamps_ns[right] - queries_ns)
    nearest = np.where(pick_left, left, right)
    within = np.abs(stamps_ns[nearest] - queries_ns) <= tolerance_ns
    return np.where(within, nearest, -1).astype(np.int64)


def split_at_gaps(stamps_ns: np.ndarray, max_gap_ns: int) -> list[slice]:
    """Runs of sorted stamps whose consecutive spacing is at most `max_gap_ns`, as slices."""
    stamps_ns = np.asarray(stamps_ns, dtype=np.int64)
    if not len(stamps_ns):
        return []
    cuts = np.flatnonzero(np.diff(stamps_ns) > max_gap_ns) + 1
    bounds = [0, *cuts.tolist(), len(stamps_ns)]
    return [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def resample_indices(stamps_ns: np.ndarray, fps: float) -> np.ndarray:
    """Indices into one episode's sorted stamps of the frame nearest each tick of a `fps` clock.

    The clock starts at the first frame and stops at the last; a source faster than `fps` loses frames,
    a slower one repeats them.
    """
    stamps_ns = np.asarray(stamps_ns, dtype=np.int64)
    duration = int(stamps_ns[-1] - stamps_ns[0])
    period = NS / fps
    # Half a microsecond of slack so that a tick landing exactly on the last frame is kept.
    ticks = stamps_ns[0] + np.rint(np.arange(int(duration / period + 1e-6) + 1) * period).astype(np.int64)
    return nearest_indices(ticks, stamps_ns, tolerance_ns=duration + 1)
