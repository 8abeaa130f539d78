"""Random exploration commands: bounds, holding, sweeps, stillness, determinism, config errors."""

import numpy as np
import pytest

from ros2_vid2world.sim.exploration import ExplorationConfig, ExplorationPolicy


def _segments(actions: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Runs of identical consecutive actions: (action, length)."""
    runs = []
    for action in actions:
        if runs and np.array_equal(runs[-1][0], action):
            runs[-1][1] += 1
        else:
            runs.append([action, 1])
    return [(action, length) for action, length in runs]


def test_actions_are_bounded_held_and_include_sweeps_and_stillness():
    policy = ExplorationPolicy(np.random.default_rng(0))
    actions = np.array([policy() for _ in range(3000)])
    assert actions.shape == (3000, 2)
    assert np.all(np.abs(actions) <= 1.0)
    segments = _segments(actions)
    sweeps = [length for action, length in segments if np.all(np.abs(action) == 1.0)]
    still = [length for action, length in segments if np.all(action == 0.0)]
    random_holds = [length for action, length in segments if 0 < np.abs(action).max() < 1.0]
    assert sweeps and still and random_holds
    # Random actions are held 1-4 steps; sweeps (two may run together) last at least 5.
    assert 1 <= min(random_holds) and max(random_holds) <= 4
    assert min(sweeps) >= 5
    # Temporally correlated: a new action far less often than every step.
    assert len(segments) < 0.6 * len(actions)
    # Both directions of both joints at full speed: the sweeps reach the whole workspace.
    full = actions[np.all(np.abs(actions) == 1.0, axis=1)]
    assert {tuple(a) for a in full} == {(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)}


def test_same_seed_same_commands_and_reset_starts_a_new_segment():
    a = ExplorationPolicy(np.random.default_rng(7))
    b = ExplorationPolicy(np.random.default_rng(7))
    np.testing.assert_array_equal([a() for _ in range(50)], [b() for _ in range(50)])
    config = ExplorationConfig(hold_steps=(4, 4), sweep_probability=0)
    policy = ExplorationPolicy(np.random.default_rng(1), config)
    first = policy()
    policy.reset()
    assert not np.array_equal(policy(), first)  # without reset it would be held for 3 more steps


@pytest.mark.parametrize(
    "field, value",
    [
        ("hold_steps", (0, 3)),
        ("hold_steps", (4, 2)),
        ("sweep_steps", (0, 0)),
        ("sweep_probability", 1.5),
        ("still_probability", -0.1),
    ],
)
def test_config_rejects_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ExplorationConfig(**{field: value})


def test_probabilities_must_leave_room_for_random_holds():
    with pytest.raises(ValueError, match="`sweep_probability` \\+ `still_probability`"):
        ExplorationConfig(sweep_probability=0.7, still_probability=0.5)
