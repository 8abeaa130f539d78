"""The pusher's exploration: pushes that start clear of the block and go through a point of it, bounded
and deterministic commands, the "moved" test, config errors (the physics is in test_push_env)."""

import numpy as np
import pytest

from ros2_vid2world.sim.push_exploration import (
    BLOCK_REACH,
    CLEAR_RADIUS,
    MOVED_ANGLE,
    MOVED_DISTANCE,
    START_RADIUS,
    PushExplorationConfig,
    PushExplorationPolicy,
    aimed_point,
    block_moved,
    footprint_point,
    push_start,
    way_round,
)
from ros2_vid2world.sim.push_scene import BAR, STEM, block_reach, block_shape


def test_footprint_points_are_on_the_t_and_spread_over_it():
    rng = np.random.default_rng(0)
    points = np.array([footprint_point(rng) for _ in range(2000)])
    shape = block_shape()
    on_bar = np.all(np.abs(points - shape.bar_centre) <= np.array(BAR) / 2 + 1e-12, axis=1)
    on_stem = np.all(np.abs(points - shape.stem_centre) <= np.array(STEM) / 2 + 1e-12, axis=1)
    assert np.all(on_bar | on_stem)
    # Uniform over the area: the bar holds 3600 of the 6300 mm^2.
    assert on_bar.mean() == pytest.approx(3600 / 6300, abs=0.04)
    np.testing.assert_allclose(points.mean(0), [0.0, 0.0], atol=0.004)  # the centre of mass
    assert BLOCK_REACH == pytest.approx(block_reach(shape)) and 0.08 < BLOCK_REACH < 0.081


def test_a_push_starts_on_its_line_behind_the_point_clear_of_the_block():
    rng = np.random.default_rng(1)
    for _ in range(200):
        centre = rng.uniform(-0.1, 0.1, 2)
        pose = np.array([*centre, rng.uniform(-np.pi, np.pi)])
        point = aimed_point(pose, footprint_point(rng))
        angle = rng.uniform(-np.pi, np.pi)
        direction = np.array([np.cos(angle), np.sin(angle)])
        start = push_start(centre, point, direction)
        assert np.linalg.norm(start - centre) == pytest.approx(START_RADIUS)
        behind = point - start
        across = behind[0] * direction[1] - behind[1] * direction[0]
        assert np.dot(behind, direction) > 0 and abs(across) < 1e-12


def test_the_way_to_a_push_goes_round_the_block_not_through_it():
    centre = np.zeros(2)
    # Clear path: straight there.
    target = np.array([0.2, 0.15])
    np.testing.assert_array_equal(way_round(centre, np.array([-0.2, 0.15]), target), target)
    # Through the block: a point beside it, on the side the path passes.
    waypoint = way_round(centre, np.array([-0.2, 0.01]), np.array([0.2, 0.01]))
    assert np.linalg.norm(waypoint) == pytest.approx(CLEAR_RADIUS) and waypoint[1] > 0
    waypoint = way_round(centre, np.array([-0.2, 0.0]), np.array([0.2, 0.0]))  # dead centre: round one side
    assert np.linalg.norm(waypoint) == pytest.approx(CLEAR_RADIUS)


def test_commands_are_bounded_deterministic_and_reset_starts_a_new_segment():
    def run(seed: int) -> np.ndarray:
        policy = PushExplorationPolicy(np.random.default_rng(seed), step_length=0.03)
        rng = np.random.default_rng(99)  # a block and pusher that jump about: the policy only reads them
        return np.array([policy(rng.uniform(-0.2, 0.2, 2), rng.uniform(-0.15, 0.15, 3)) for _ in range(500)])

    first, again, other = run(3), run(3), run(4)
    assert first.shape == (500, 2) and np.all(np.abs(first) <= 1.0)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # Pushes at full speed on the larger axis, random holds, and stillness all occur.
    assert np.any(np.abs(first).max(axis=1) == 1.0) and np.any(np.all(first == 0.0, axis=1))
    policy = PushExplorationPolicy(np.random.default_rng(5), step_length=0.03)
    policy(np.zeros(2), np.array([0.1, 0.1, 0.0]))
    policy.reset()
    assert policy._push is None and policy._remaining == 0


def test_a_step_moved_the_block_beyond_2_mm_or_1_degree():
    start = np.array([0.1, -0.1, 3.1])
    assert not block_moved(start, start + [0.9 * MOVED_DISTANCE, 0.0, 0.0])
    assert block_moved(start, start + [0.0, 1.1 * MOVED_DISTANCE, 0.0])
    assert not block_moved(start, start + [0.0, 0.0, 0.9 * MOVED_ANGLE])
    # Across the +-pi seam: 3.1 rad to -3.1 rad is a turn of 0.08 rad.
    assert block_moved(start, np.array([0.1, -0.1, -3.1]))
    assert not block_moved(start, np.array([0.1, -0.1, 3.1 - 2 * np.pi]))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"push_probability": 1.5}, "`push_probability`"),
        ({"push_probability": 0.8, "still_probability": 0.3}, "must be <= 1"),
        ({"speed": (0.0, 1.0)}, "`speed`"),
        ({"push_steps": (3, 2)}, "`push_steps`"),
        ({"candidates": 0}, "`candidates`"),
        ({"centre_region": -0.1}, "`centre_region`"),
    ],
)
def test_config_rejects_bad_values_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        PushExplorationConfig(**kwargs)
    with pytest.raises(ValueError, match="`step_length`"):
        PushExplorationPolicy(np.random.default_rng(0), step_length=0.0)
