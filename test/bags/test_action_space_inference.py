"""Telling recorded actions' meaning from how the joints moved."""

import numpy as np
import pytest

from ros2_vid2world.bags.action_space_inference import infer_action_space

PERIOD = 0.1


def episode(kind: str, seed: int = 0, steps: int = 40):
    rng = np.random.default_rng(seed)
    actions = rng.uniform(-2, 2, (steps, 2))
    joints = np.zeros((steps, 2))
    for t in range(steps - 1):
        change = {"joint_velocity": actions[t] * PERIOD, "joint_delta": actions[t]}.get(kind)
        joints[t + 1] = actions[t] if kind == "joint_position" else joints[t] + change
    return joints + rng.normal(0, 1e-3, joints.shape), actions


@pytest.mark.parametrize("kind", ["joint_velocity", "joint_position", "joint_delta"])
def test_each_action_space_is_told_from_the_motion(kind):
    joints, actions = zip(*(episode(kind, seed) for seed in range(3)), strict=True)
    found, why = infer_action_space(list(joints), list(actions), PERIOD)
    assert found == kind, why


def test_unrelated_actions_or_no_joints_are_not_guessed():
    rng = np.random.default_rng(1)
    joints, actions = [rng.normal(size=(30, 2))], [rng.normal(size=(30, 2))]
    found, why = infer_action_space(joints, actions, PERIOD)
    assert found is None and "clearly best" in why
    found, why = infer_action_space([], [], PERIOD)
    assert found is None and "no joint positions" in why
