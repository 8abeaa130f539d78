import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ros2_vid2world.cli import main
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.presets import base_unet_from_preset

VID2WORLD = Path(sys.executable).parent / "vid2world"


def one_error_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world causalize: error: "), err
    return err[0]


def test_preset_writes_a_loadable_folder(tmp_path):
    assert (
        main(
            [
                "causalize",
                "--preset",
                "tiny",
                "--action-dim",
                "3",
                "--weight-transfer",
                "masked",
                "--control-period",
                "0.05",
                "--action-space",
                "joint_delta",
                "--out",
                str(tmp_path / "wm"),
            ]
        )
        == 0
    )
    folder = WorldModelFolder.load(tmp_path / "wm")
    assert folder.model.config.action_dim == 3 and folder.model.config.weight_transfer == "masked"
    assert folder.image_size == (16, 16) and folder.model.config.max_frames == 8
    assert (folder.control_period, folder.action_space) == (0.05, "joint_delta")


def test_base_folder_keeps_its_spatial_weights(tmp_path):
    base = base_unet_from_preset("tiny", seed=5)
    base.save_pretrained(tmp_path / "base")
    assert (
        main(
            [
                "causalize",
                "--base",
                str(tmp_path / "base"),
                "--action-dim",
                "2",
                "--prediction-type",
                "v_prediction",
                "--out",
                str(tmp_path / "wm"),
            ]
        )
        == 0
    )
    folder = WorldModelFolder.load(tmp_path / "wm")
    assert torch.equal(folder.model.unet.conv_in.weight, base.conv_in.weight)
    assert (
        folder.scheduler.config.rescale_betas_zero_snr
        and folder.model.config.prediction_type == "v_prediction"
    )


def test_existing_out_is_kept_without_force(tmp_path, capsys):
    (tmp_path / "wm").mkdir()
    (tmp_path / "wm" / "keep.txt").write_text("mine")
    line = one_error_line(
        capsys, ["causalize", "--preset", "tiny", "--action-dim", "2", "--out", str(tmp_path / "wm")]
    )
    assert "already exists; pass --force" in line
    assert (tmp_path / "wm" / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--preset", "tiny", "--action-dim", "0"], "`action_dim` must be a positive integer. Got 0."),
        (["--base", "/nonexistent/unet", "--action-dim", "2"], "--base '/nonexistent/unet' does not exist"),
        (
            ["--preset", "tiny", "--action-dim", "2", "--control-period", "0"],
            "--control-period must be a positive number of seconds. Got 0.0.",
        ),
    ],
)
def test_bad_input_gives_one_line_and_writes_nothing(tmp_path, capsys, argv, message):
    line = one_error_line(capsys, ["causalize", *argv, "--out", str(tmp_path / "wm")])
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_pickle_only_base_is_refused(tmp_path, capsys):
    base = base_unet_from_preset("tiny")
    base.save_pretrained(tmp_path / "base")
    weights = tmp_path / "base" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_suffix(".bin"))
    line = one_error_line(
        capsys,
        ["causalize", "--base", str(tmp_path / "base"), "--action-dim", "2", "--out", str(tmp_path / "wm")],
    )
    assert "pickle weights only" in line and not (tmp_path / "wm").exists()


def test_console_script_reports_errors_without_traceback(tmp_path):
    result = subprocess.run(
        [
            str(VID2WORLD),
            "causalize",
            "--preset",
            "tiny",
            "--action-dim",
            "2",
            "--weight-transfer",
            "mixed",
            "--out",
            str(tmp_path / "wm"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "invalid choice: 'mixed'" in result.stderr and "Traceback" not in result.stderr
