import numpy as np
import pytest
import torch

from ros2_vid2world.planning.visual_planner import PlannerConfig, VisualPlanner
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset

SMALL = dict(population=8, elites=2, iterations=2, horizon=2, denoise_steps=1, history_frames=2)


@pytest.fixture(scope="module")
def folder():
    model = causalize(base_unet_from_preset("tiny"), action_dim=2, prediction_type="v_prediction").eval()
    torch.manual_seed(0)
    for parameter in model.action_embedding.parameters():
        torch.nn.init.normal_(parameter, std=0.5)
    stats = {"mean": [1.0, 0.0], "std": [2.0, 1.0]}
    return WorldModelFolder(
        model, make_scheduler("v_prediction", rescale_betas_zero_snr=True), action_stats=stats
    )


def image(seed):
    return np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)


def ready_planner(folder, **overrides):
    planner = VisualPlanner(folder, PlannerConfig(**(SMALL | overrides)), low=[-1.0, -0.5], high=[1.0, 0.5])
    planner.set_goal(image(0))
    planner.observe(image(1))
    planner.observe(image(2), np.array([0.2, 0.1]))
    return planner


def test_plan_respects_bounds_and_shapes(folder):
    out = ready_planner(folder).plan(decode=True)
    assert out.action.shape == (2,) and out.sequence.shape == (2, 2)
    assert np.all(out.sequence >= [-1.0, -0.5]) and np.all(out.sequence <= [1.0, 0.5])
    assert np.array_equal(out.action, out.sequence[0])
    assert out.imagined.shape == (2, 16, 16, 3) and out.imagined.dtype == np.uint8
    assert len(out.info["best_costs"]) == 2 and np.isfinite(out.cost) and out.latency_s > 0


def test_same_seed_same_decision(folder):
    assert np.array_equal(ready_planner(folder).plan().action, ready_planner(folder).plan().action)


def test_model_sees_normalised_actions(folder):
    planner = ready_planner(folder)
    seen = []
    imagine = planner.engine.imagine
    planner.engine.imagine = lambda candidates, generator=None: (
        seen.append(candidates) or imagine(candidates, generator)
    )
    planner.plan()
    robot_units = seen[0] * torch.tensor([2.0, 1.0]) + torch.tensor([1.0, 0.0])
    assert robot_units[:, :, 0].min() >= -1 - 1e-6 and robot_units[:, :, 0].max() <= 1 + 1e-6
    assert seen[0][:, :, 0].max() <= 0.0 + 1e-6  # (1 - 1) / 2: the normalised upper bound


def test_warm_start_is_the_shifted_plan_and_survives_a_population_change(folder):
    planner = ready_planner(folder)
    first = planner.plan()
    expected = np.concatenate([first.sequence[1:], first.sequence[-1:]])
    planner.update_config(population=6)
    assert np.allclose(planner._mpc.warm_start.numpy(), expected)
    assert planner.config.population == 6
    planner.update_config(horizon=3)
    assert planner._mpc.warm_start is None


def test_bad_inputs_are_named(folder):
    planner = VisualPlanner(folder, PlannerConfig(**SMALL), low=-1.0, high=1.0)
    with pytest.raises(ValueError, match="no goal yet"):
        planner.plan()
    with pytest.raises(
        ValueError, match=r"goal image must be a uint8 array \[16, 16, 3\] \(RGB\). Got uint8 \(8, 8, 3\)"
    ):
        planner.set_goal(np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match=r"camera frame must be a uint8 array"):
        planner.observe(np.zeros((16, 16, 3), np.float32))
    planner.set_goal(image(0))
    with pytest.raises(ValueError, match="no observation yet"):
        planner.plan()
    with pytest.raises(ValueError, match="must fit the model's window of 8 frames"):
        planner.update_config(history_frames=5, horizon=4)
    with pytest.raises(ValueError, match="`goal_mode` must be one of"):
        planner.update_config(goal_mode="best")
    with pytest.raises(ValueError, match="`low` must be <= `high`"):
        VisualPlanner(folder, PlannerConfig(**SMALL), low=[1.0, 1.0], high=[0.0, 2.0])


def test_a_patch_model_plans_on_full_size_images_and_returns_full_size_frames():
    from diffusers import UNetSpatioTemporalConditionModel

    from ros2_vid2world.world_model.presets import BASE_PRESETS

    # 16x16 samples of 2x2 patches (12 channels): the planner takes and shows 32x32 images.
    base = UNetSpatioTemporalConditionModel(**{**BASE_PRESETS["tiny"], "in_channels": 12, "out_channels": 12})
    model = causalize(base, action_dim=2, prediction_type="v_prediction").eval()
    folder = WorldModelFolder(
        model, make_scheduler("v_prediction", rescale_betas_zero_snr=True), patch_size=2
    )
    planner = VisualPlanner(folder, PlannerConfig(**SMALL, goal_blur=1.0), low=[-1.0, -1.0], high=[1.0, 1.0])
    assert planner.image_size == (32, 32)
    rng = np.random.default_rng(0)
    planner.set_goal(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    planner.observe(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    out = planner.plan(decode=True)
    assert out.imagined.shape == (2, 32, 32, 3) and np.isfinite(out.cost)
    with pytest.raises(ValueError, match="32, 32, 3"):
        planner.observe(image(3))


def test_the_state_probe_term_scores_plans_when_weighted(folder):
    import dataclasses

    from ros2_vid2world.world_model.state_probe import StateProbe

    with pytest.raises(ValueError, match="`probe_weight` is 1.0 but the model folder has no state probe"):
        VisualPlanner(folder, PlannerConfig(**SMALL, probe_weight=1.0), low=-1.0, high=1.0)
    torch.manual_seed(0)
    probe = StateProbe(joint_names=["a", "b"], periodic=[True, False], image_size=[16, 16]).eval()
    with_probe = dataclasses.replace(folder, state_probe=probe)
    planner = ready_planner(with_probe, probe_weight=1.0)
    terms = planner.plan().info["cost_terms"]
    assert set(terms) == {"goal_latent", "state_probe_goal"} and min(terms["state_probe_goal"]) > 0
    planner.update_config(probe_weight=0.0)
    assert set(planner.plan().info["cost_terms"]) == {"goal_latent"}


def test_a_committed_prefix_is_imagined_once_and_the_plan_starts_where_it_leaves_the_robot(folder):
    planner = ready_planner(folder)
    prefix = np.array([[0.5, -0.25], [1.0, 0.5]])
    history, actions = planner._buffer.history()
    extended, extended_actions = planner._after_prefix(history, actions, prefix)
    # Room is left for the plan's own frames; the newest frames are the prefix's, in model space.
    window, steps = folder.model.config.max_frames, planner.config.model_steps
    assert extended.shape[1] <= window - steps and extended_actions.shape[1] == extended.shape[1] - 1
    normalised = folder.action_normalization.normalize(torch.as_tensor(prefix, dtype=torch.float32))
    torch.testing.assert_close(extended_actions[0, -2:], normalised)
    assert not torch.equal(extended[0, -1], history[0, -1])  # the frame the prefix leads to, imagined
    out = planner.plan(prefix=prefix, shift=2)
    assert out.sequence.shape == (2, 2)


def test_cancel_from_another_thread_abandons_the_decision(folder):
    import threading

    from ros2_vid2world.planning.errors import PlanCancelled

    planner = ready_planner(folder, population=64, iterations=50)
    timer = threading.Timer(0.2, planner.cancel)
    timer.start()
    with pytest.raises(PlanCancelled):
        planner.plan()
    timer.join()
    planner.update_config(iterations=1)
    assert planner.plan().action.shape == (2,)  # the next decision starts afresh


def test_the_object_goal_term_needs_a_probe_of_the_object_and_then_scores_plans(folder):
    import dataclasses

    from ros2_vid2world.world_model.state_probe import StateProbe

    with pytest.raises(ValueError, match="need the model folder's state probe to read the object's pose"):
        VisualPlanner(folder, PlannerConfig(**SMALL, object_weight=1.0), low=-1.0, high=1.0)
    arm = StateProbe(joint_names=["a", "b"], periodic=[True, False], image_size=[16, 16]).eval()
    with pytest.raises(ValueError, match=r"needs a state probe that reads \['object_x', 'object_y', "):
        VisualPlanner(dataclasses.replace(folder, state_probe=arm), PlannerConfig(**SMALL, object_weight=1.0),
                      low=-1.0, high=1.0)
    torch.manual_seed(0)
    names = ["pusher_x", "pusher_y", "object_x", "object_y", "object_yaw"]
    probe = StateProbe(joint_names=names, periodic=[False] * 4 + [True], image_size=[16, 16],
                       units=["m"] * 4 + ["rad"]).eval()
    with_probe = dataclasses.replace(folder, state_probe=probe)
    planner = ready_planner(with_probe, object_weight=100.0, reach_weight=10.0, goal_weight=0.0)
    terms = planner.plan().info["cost_terms"]
    assert set(terms) == {"object_goal"} and min(terms["object_goal"]) > 0
    # Planning for the object, "how far from the goal" is the object's distance: 0 at the goal image.
    planner.observe(image(0), None)
    assert planner.goal_distance() == pytest.approx(0.0, abs=1e-9)
    planner.observe(image(5), None)
    assert planner.goal_distance() > 0


def test_goal_distance_is_zero_at_the_goal_and_grows_away_from_it(folder):
    planner = ready_planner(folder)
    planner.observe(image(0), None)  # the goal image itself
    assert planner.goal_distance() == pytest.approx(0.0, abs=1e-6)
    planner.observe(image(5), None)
    assert planner.goal_distance() > 0.01


def test_icem_keeps_its_elites_across_decisions_and_setting_changes(folder, one_torch_thread):
    settings = dict(method="icem", population=12, elites=4, icem_min_population=6, icem_keep_elites=0.5)
    planner = ready_planner(folder, **settings)
    first = planner.plan()
    assert first.info["populations"] == [12, 10]  # 12 / 1.25, rounded
    kept = planner._mpc.kept_elites
    assert kept.shape == (2, 2, 2)  # 0.5 x 4 elites, horizon 2, shifted by one step
    planner.update_config(population=10, icem_beta=1.0)
    assert torch.equal(planner._mpc.kept_elites, kept)
    planner.update_config(method="mppi")
    assert planner.plan().info["populations"] == [10, 10]
