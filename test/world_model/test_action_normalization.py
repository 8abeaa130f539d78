"""Action normalisation: one object, the same numbers in numpy and torch, stored with the model."""

import numpy as np
import pytest
import torch

from ros2_vid2world.world_model.action_normalization import ActionNormalization
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler


def test_normalize_and_denormalize_invert_each_other_in_numpy_and_torch():
    norm = ActionNormalization((1.0, -2.0), (2.0, 0.5))
    actions = np.array([[3.0, -1.0], [1.0, -2.0]], np.float64)
    model_units = norm.normalize(actions)
    assert model_units.dtype == np.float32
    np.testing.assert_allclose(model_units, [[1.0, 2.0], [0.0, 0.0]])
    np.testing.assert_allclose(norm.denormalize(model_units), actions)
    as_tensor = norm.normalize(torch.from_numpy(actions))
    assert as_tensor.dtype == torch.float32
    np.testing.assert_allclose(as_tensor.numpy(), model_units)


def test_identity_without_statistics_and_stats_round_trip():
    assert ActionNormalization.from_stats(None, 3) == ActionNormalization.identity(3)
    stats = {"mean": [0.5, 1.0], "std": [2.0, 3.0], "min": [0, 0], "max": [1, 2]}
    norm = ActionNormalization.from_stats(stats, 2)
    assert ActionNormalization.from_stats(norm.to_stats(), 2) == norm


@pytest.mark.parametrize(
    "stats, match",
    [
        ({"mean": [0.0, 0.0], "std": [1.0, 0.0]}, "std must be finite and > 0"),
        ({"mean": [0.0], "std": [1.0, 1.0]}, "one mean and one std per action dimension"),
        ({"mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}, "3 dimensions; the model takes 2"),
    ],
)
def test_bad_statistics_are_refused(stats, match):
    with pytest.raises(ValueError, match=match):
        ActionNormalization.from_stats(stats, 2)


def test_the_model_folder_saves_and_loads_it(tiny_model, tmp_path):
    stats = {"mean": [0.25, -0.5], "std": [2.0, 4.0]}
    WorldModelFolder(model=tiny_model, scheduler=make_scheduler(), action_stats=stats).save(tmp_path / "m")
    loaded = WorldModelFolder.load(tmp_path / "m")
    assert loaded.action_normalization == ActionNormalization((0.25, -0.5), (2.0, 4.0))
    with pytest.raises(ValueError, match="3 dimensions"):
        stats = {"mean": [0] * 3, "std": [1] * 3}
        WorldModelFolder(model=tiny_model, scheduler=make_scheduler(), action_stats=stats)


def test_the_folder_records_its_control_period_and_action_space(tiny_model, tmp_path):
    folder = WorldModelFolder(
        model=tiny_model, scheduler=make_scheduler(), control_period=0.05, action_space="joint_position"
    )
    folder.save(tmp_path / "m")
    loaded = WorldModelFolder.load(tmp_path / "m")
    assert (loaded.control_period, loaded.action_space) == (0.05, "joint_position")
    with pytest.raises(ValueError, match="`action_space` must be one of"):
        WorldModelFolder(model=tiny_model, scheduler=make_scheduler(), action_space="torque")
    with pytest.raises(ValueError, match="`control_period` must be a positive number of seconds"):
        WorldModelFolder(model=tiny_model, scheduler=make_scheduler(), control_period=0.0)


def test_a_folder_written_before_they_were_kept_loads_with_the_defaults_and_one_warning(
    tiny_model, tmp_path, caplog
):
    import json

    WorldModelFolder(model=tiny_model, scheduler=make_scheduler()).save(tmp_path / "old")
    manifest = json.loads((tmp_path / "old" / "vid2world.json").read_text())
    del manifest["control_period"], manifest["action_space"]
    (tmp_path / "old" / "vid2world.json").write_text(json.dumps(manifest))
    with caplog.at_level("WARNING"):
        loaded = WorldModelFolder.load(tmp_path / "old")
    assert (loaded.control_period, loaded.action_space) == (0.1, "joint_velocity")
    (record,) = caplog.records
    assert "records no control_period or action_space" in record.getMessage()
