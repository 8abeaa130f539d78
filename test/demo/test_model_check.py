"""The model pre-flight check reads the folder's manifest only: bad folders fail in one line, fast."""

import json

import pytest

from ros2_vid2world.demo import model_check
from ros2_vid2world.demo.model_check import check_model, default_model_path


def write_manifest(path, **values):
    path.mkdir(parents=True)
    manifest = {"action_dim": 2, "image_size": [32, 32], "max_frames": 6} | values
    (path / "vid2world.json").write_text(json.dumps(manifest))
    return path


def test_a_reacher_model_passes(tmp_path):
    info = check_model(write_manifest(tmp_path / "m"), history_frames=2, horizon=4)
    assert (info.action_dim, info.image_size, info.max_frames) == (2, (32, 32), 6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: p, "does not exist or is not a folder"),
        (lambda p: p.mkdir() or p, "is not a world-model folder: no vid2world.json"),
        (lambda p: write_manifest(p, action_dim=3), "dimension 3, but the simulated reacher has 2"),
        (lambda p: write_manifest(p, max_frames=5), "sees 5 frames, fewer than planner.history_frames"),
        (lambda p: write_manifest(p, image_size=None), "lacks a valid"),
    ],
)
def test_bad_models_are_refused_with_the_folder_named(tmp_path, make, match):
    path = make(tmp_path / "model")
    with pytest.raises(ValueError, match=match) as error:
        check_model(path, history_frames=2, horizon=4)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_planner_that_reads_a_state_probe_needs_one_in_the_folder(tmp_path):
    path = write_manifest(tmp_path / "m")
    check_model(path, history_frames=2, horizon=4)  # no probe needed: fine
    with pytest.raises(ValueError, match="has no state_probe/ but the config sets planner.probe_weight > 0"):
        check_model(path, history_frames=2, horizon=4, probe_users=["probe_weight"])
    (path / "state_probe").mkdir()
    assert check_model(path, history_frames=2, horizon=4, probe_users=["probe_weight"]).path == path


def test_the_default_model_is_the_shipped_one_or_a_clear_error():
    try:
        path = default_model_path()
    except ValueError as exc:
        assert "models/reacher" in str(exc) and "--model" in str(exc)
    else:
        assert path.name == "reacher" and path.parent.name == "models"


def write_probe_config(path, joint_names):
    (path / "state_probe").mkdir()
    (path / "state_probe" / "config.json").write_text(json.dumps({"joint_names": joint_names}))


def test_the_object_cost_needs_a_probe_that_reads_the_object(tmp_path):
    from ros2_vid2world.world_model.state_probe import OBJECT_STATES

    assert OBJECT_STATES == model_check.OBJECT_STATES  # read here without importing torch
    reacher_probe = write_manifest(tmp_path / "reacher")
    write_probe_config(reacher_probe, ["shoulder", "wrist"])
    users = ["object_weight", "reach_weight"]
    with pytest.raises(ValueError, match=r"reads \['shoulder', 'wrist'\], but with planner.object_weight and "
                       r"planner.reach_weight > 0 the planner reads the object's pose") as error:
        check_model(reacher_probe, history_frames=1, horizon=3, probe_users=users, task="push")
    assert str(reacher_probe) in str(error.value) and "\n" not in str(error.value)
    check_model(reacher_probe, history_frames=1, horizon=3, probe_users=["probe_weight"])  # joints only: fine
    push_probe = write_manifest(tmp_path / "push")
    write_probe_config(push_probe, ["pusher_x", "pusher_y", *OBJECT_STATES])
    info = check_model(push_probe, history_frames=1, horizon=3, probe_users=users, task="push")
    assert info.path == push_probe
    with pytest.raises(ValueError, match="has no state_probe/ but the config sets planner.reach_weight > 0"):
        check_model(write_manifest(tmp_path / "none"), 1, 3, probe_users=["reach_weight"], task="push")


def test_the_pushers_model_takes_two_velocities(tmp_path):
    with pytest.raises(ValueError, match="dimension 3, but the simulated pusher takes 2"):
        check_model(write_manifest(tmp_path / "m", action_dim=3), history_frames=1, horizon=3, task="push")


def test_the_weights_that_read_the_probe():
    from ros2_vid2world.planning.planner_config import PlannerConfig

    assert model_check.probe_weights_set(PlannerConfig()) == []
    config = PlannerConfig(probe_weight=0.0, object_weight=100.0, reach_weight=10.0)
    assert model_check.probe_weights_set(config) == ["object_weight", "reach_weight"]
    assert model_check.probe_weights_set(PlannerConfig(probe_weight=1.0)) == ["probe_weight"]


def test_the_shipped_push_model_fits_the_shipped_push_config(tmp_path):
    """models/push is the default of `--task push` and has what config/demo_push.yaml's planner reads: a
    window for its history and horizon, 2-D actions, and a probe that reads the block and the pusher."""
    from ros2_vid2world.demo.demo_settings import DemoSettings, shipped_config

    path = default_model_path("push")
    assert path.name == "push" and path.parent.name == "models"
    settings = DemoSettings.from_config(
        shipped_config("push"), model_path=path, out=tmp_path / "o", episodes=1
    )
    planner = settings.planner_node.planner
    users = model_check.probe_weights_set(planner)
    assert users == ["object_weight", "reach_weight"]
    info = check_model(path, planner.history_frames, planner.horizon, probe_users=users, task="push")
    assert info.path == path
