"""The model pre-flight check reads the folder's manifest only: bad folders fail in one line, fast."""

import json

import pytest

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
        check_model(path, history_frames=2, horizon=4, needs_state_probe=True)
    (path / "state_probe").mkdir()
    assert check_model(path, history_frames=2, horizon=4, needs_state_probe=True).path == path


def test_the_default_model_is_the_shipped_one_or_a_clear_error():
    try:
        path = default_model_path()
    except ValueError as exc:
        assert "models/reacher" in str(exc) and "--model" in str(exc)
    else:
        assert path.name == "reacher" and path.parent.name == "models"
