"""Planner agreement: one decision per start, first action inside the bounds, errors as defined."""

import numpy as np

from ros2_vid2world.bags.planner_agreement import AgreementConfig, evaluate_planner_agreement
from ros2_vid2world.world_model.folder import WorldModelFolder


def test_first_actions_are_compared_with_the_recorded_ones(tiny_model_path, one_torch_thread):
    folder = WorldModelFolder.load(tiny_model_path)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (8, 16, 16, 3), dtype=np.uint8)
    actions = rng.uniform(-0.4, 0.4, (8, 2)).astype(np.float32)
    episodes = [{"frames": frames, "actions": actions}]
    low, high = np.array([-0.5, -0.25]), np.array([0.5, 0.25])
    config = AgreementConfig(population=4, elites=2, iterations=1, denoise_steps=1)
    result = evaluate_planner_agreement(folder, episodes, [(0, 1), (0, 4)], 2, 2, low, high, config)
    assert result.planned.shape == (2, 2)
    assert ((result.planned >= low - 1e-9) & (result.planned <= high + 1e-9)).all()
    np.testing.assert_allclose(result.recorded, actions[[1, 4]], atol=1e-7)
    np.testing.assert_allclose(result.error, np.linalg.norm(result.planned - result.recorded, axis=1))
    mean = actions[:-1].astype(np.float64).mean(0)
    np.testing.assert_allclose(result.baseline_error, np.linalg.norm(mean - result.recorded, axis=1))
    summary = result.summary()
    assert summary["starts"] == 2 and len(summary["per_dim_abs_error"]) == 2
    assert -1.0 <= summary["cosine_similarity"] <= 1.0


def test_the_planners_method_is_used_and_reported(tiny_model_path, one_torch_thread):
    folder = WorldModelFolder.load(tiny_model_path)
    rng = np.random.default_rng(0)
    episodes = [{"frames": rng.integers(0, 256, (6, 16, 16, 3), dtype=np.uint8),
                 "actions": rng.uniform(-0.4, 0.4, (6, 2)).astype(np.float32)}]  # fmt: skip
    low, high = np.array([-0.5, -0.5]), np.array([0.5, 0.5])
    config = AgreementConfig(population=8, elites=2, iterations=2, denoise_steps=1, method="icem")
    summary = evaluate_planner_agreement(folder, episodes, [(0, 1)], 2, 2, low, high, config).summary()
    # The default floor (16) is above the population: iCEM then scores 8 candidates at both iterations.
    assert summary["method"] == "icem" and summary["evaluations_per_decision"] == 16
