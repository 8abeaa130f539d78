"""Time alignment: nearest pairing within tolerance, gap splitting, resampling, and clock resets refused."""

import numpy as np
import pytest

from ros2_vid2world.bags.frame_pairing import (
    check_no_overlap,
    median_period_ns,
    nearest_indices,
    order_by_stamp,
    resample_indices,
    split_at_gaps,
)

MS = 1_000_000


def test_nearest_indices_pick_the_closest_and_refuse_beyond_tolerance():
    stamps = np.array([0, 100, 200, 300]) * MS
    queries = np.array([-40, 1, 149, 151, 260, 349, 351, 1000]) * MS
    np.testing.assert_array_equal(nearest_indices(queries, stamps, 50 * MS), [0, 0, 1, 2, 3, 3, -1, -1])


def test_nearest_indices_with_one_or_no_candidate():
    np.testing.assert_array_equal(nearest_indices(np.array([5, 500]), np.array([0]), 10), [0, -1])
    np.testing.assert_array_equal(nearest_indices(np.array([5]), np.zeros(0, np.int64), 10), [-1])


def test_split_at_gaps_cuts_only_longer_pauses():
    stamps = np.array([0, 100, 200, 1200, 1300, 1400, 1500, 3000]) * MS
    runs = split_at_gaps(stamps, 500 * MS)
    assert [(r.start, r.stop) for r in runs] == [(0, 3), (3, 7), (7, 8)]


@pytest.mark.parametrize(
    "fps, expected", [(10.0, [0, 1, 2, 3, 4]), (5.0, [0, 2, 4]), (20.0, [0, 0, 1, 1, 2, 2, 3, 3, 4])]
)
def test_resample_indices_follow_a_fixed_rate_clock(fps, expected):
    # The 20 Hz case repeats frames: each tick takes the nearest (ties go to the earlier frame).
    stamps = np.arange(5) * 100 * MS + 7
    np.testing.assert_array_equal(resample_indices(stamps, fps), expected)


def test_resample_tolerates_jitter_without_dropping_frames():
    jitter = np.array([0, 3, -4, 2, -1, 4]) * MS
    stamps = np.arange(6) * 100 * MS + jitter
    np.testing.assert_array_equal(resample_indices(stamps, 10.0), np.arange(6))


def test_order_by_stamp_sorts_small_reorders():
    stamps = np.array([0, 100, 300, 200, 400]) * MS
    np.testing.assert_array_equal(order_by_stamp(stamps, 500 * MS, "cam"), [0, 1, 3, 2, 4])


def test_order_by_stamp_refuses_a_clock_reset():
    stamps = np.array([10_000, 10_100, 10_200, 1_000, 1_100]) * MS
    with pytest.raises(ValueError, match=r"cam: timestamps go backwards by 9\.200 s at message 3"):
        order_by_stamp(stamps, 500 * MS, "cam")


def test_overlapping_runs_are_refused_but_a_rare_repeated_stamp_is_not():
    one_run = np.arange(200) * 100 * MS
    check_no_overlap(np.sort(np.append(one_run, one_run[50])), 100 * MS, "cam")
    two_runs = np.sort(np.concatenate([one_run, one_run[:20] + 2 * MS]))
    with pytest.raises(ValueError, match="timestamps go backwards: 20 of 220 frames"):
        check_no_overlap(two_runs, 100 * MS, "cam")


def test_median_period_ignores_gaps_and_needs_two_stamps():
    stamps = np.array([0, 100, 200, 300, 5000, 5100]) * MS
    assert median_period_ns(stamps) == 100 * MS
    with pytest.raises(ValueError, match="two distinct timestamps"):
        median_period_ns(np.array([5, 5]))
