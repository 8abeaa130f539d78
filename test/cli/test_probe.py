"""`vid2world probe` from the command line: a probe added to a model folder, bad input in one line."""

from __future__ import annotations

import json

import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset
from test.training.conftest import write_arm_dataset  # the synthetic arm, shared with test/training


@pytest.fixture(scope="module")
def arm_data(tmp_path_factory):
    return write_arm_dataset(tmp_path_factory.mktemp("data") / "arm")


@pytest.fixture
def model_dir(tmp_path):
    model = causalize(base_unet_from_preset("tiny"), action_dim=2).eval()
    return WorldModelFolder(model, make_scheduler()).save(tmp_path / "wm")


def one_error_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world probe: error: "), err
    return err[0]


def test_probe_writes_a_probe_the_folder_loads(arm_data, model_dir, capsys):
    argv = ["probe", "--data", str(arm_data), "--model", str(model_dir), "--steps", "20",
            "--batch-size", "16", "--holdout-episodes", "3", "--periodic-joints", "", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["periodic"] == {"shoulder": False, "wrist": False}  # as told, not as detected
    assert summary["out"] == str(model_dir / "state_probe") and summary["heldout_frames"] == 60
    probe = WorldModelFolder.load(model_dir).state_probe
    assert list(probe.config.joint_names) == ["shoulder", "wrist"]
    assert list(probe.config.periodic) == [False, False]


def test_bad_inputs_are_one_line_and_leave_the_folder_alone(arm_data, model_dir, tmp_path, capsys):
    base = ["--steps", "1"]
    assert "is not a world-model folder" in one_error_line(
        capsys, ["probe", "--data", str(arm_data), "--model", str(tmp_path), *base]
    )
    no_joints = write_arm_dataset(tmp_path / "nojoints", episodes=4, joints=False)
    assert "has no joint positions" in one_error_line(
        capsys, ["probe", "--data", str(no_joints), "--model", str(model_dir), *base]
    )
    elbow = ["--periodic-joints", "elbow"]
    assert "--periodic-joints names ['elbow'], not joints of the dataset" in one_error_line(
        capsys, ["probe", "--data", str(arm_data), "--model", str(model_dir), *elbow, *base]
    )
    big = WorldModelFolder(
        causalize(base_unet_from_preset("tiny"), action_dim=2).eval(), make_scheduler(), patch_size=2
    ).save(tmp_path / "big")
    assert "sees 32x32 frames; the dataset has 16x16: rebuild it with `vid2world dataset --size 32x32`" in (
        one_error_line(capsys, ["probe", "--data", str(arm_data), "--model", str(big), *base])
    )
    assert "--threads must be >= 0. Got -1." in one_error_line(
        capsys, ["probe", "--data", str(arm_data), "--model", str(model_dir), "--threads", "-1"]
    )
    assert "--steps must be an integer >= 1" in one_error_line(
        capsys, ["probe", "--data", str(arm_data), "--model", str(model_dir), "--steps", "0"]
    )
    assert not (model_dir / "state_probe").exists()
