"""VisualPlanner with a model transferred from Stable Video Diffusion (latent space, EDM noise, image
conditioning of the window's first frame), on the tiny SVD-shaped pipeline of test/svd_pipeline.py."""

import numpy as np
import pytest

from ros2_vid2world.planning.planner_config import PlannerConfig
from ros2_vid2world.planning.visual_planner import VisualPlanner
from ros2_vid2world.world_model.base_pipeline import load_base
from ros2_vid2world.world_model.causalization import folder_from_base
from test.svd_pipeline import IMAGE_SIZE, write_tiny_svd_pipeline

CONFIG = PlannerConfig(population=6, elites=2, iterations=1, horizon=2, history_frames=2, denoise_steps=2,
                       guidance_scale=1.5, seed=0)  # fmt: skip


@pytest.fixture(scope="module")
def svd_folder(tmp_path_factory):
    base = load_base(write_tiny_svd_pipeline(tmp_path_factory.mktemp("svd") / "pipeline"))
    return folder_from_base(base, action_dim=2, max_frames=6)


def frames(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8) for _ in range(count)]


def planned(folder, prefix=None):
    planner = VisualPlanner(folder, CONFIG, -1.0, 1.0)
    first, second, goal = frames(3)
    planner.set_goal(goal)
    planner.observe(first, None)
    planner.observe(second, np.array([0.2, -0.1]))
    return planner.plan(decode=True, prefix=prefix)


def test_plans_in_bounds_reproducibly_and_decodes_the_camera_size(svd_folder, one_torch_thread):
    assert svd_folder.model.config.conditioning == "image"
    a, b = planned(svd_folder), planned(svd_folder)
    assert np.all(np.abs(a.action) <= 1.0) and np.isfinite(a.cost)
    np.testing.assert_array_equal(a.action, b.action)  # the seed fixes noise, augmentation included
    assert a.imagined.shape == (2, IMAGE_SIZE, IMAGE_SIZE, 3)


def test_a_committed_prefix_moves_the_window_and_still_plans(svd_folder, one_torch_thread):
    """After a prefix the window may start at an imagined frame: its conditioning comes from the
    frame decoded."""
    out = planned(svd_folder, prefix=np.array([[0.5, 0.5], [0.5, 0.5], [0.5, 0.5]]))
    assert np.all(np.abs(out.action) <= 1.0) and np.isfinite(out.cost)
