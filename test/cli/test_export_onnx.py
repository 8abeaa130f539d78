import re

import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.planning.onnx_engine import OrtImaginationEngine
from ros2_vid2world.world_model import causalize
from ros2_vid2world.world_model.folder import WorldModelFolder
from ros2_vid2world.world_model.noise_schedule import make_scheduler
from ros2_vid2world.world_model.presets import base_unet_from_preset


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    model = causalize(base_unet_from_preset("tiny"), action_dim=2, prediction_type="v_prediction")
    path = tmp_path_factory.mktemp("models") / "wm"
    WorldModelFolder(model.eval(), make_scheduler("v_prediction", rescale_betas_zero_snr=True)).save(path)
    return path


def one_error_line(capsys, argv):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world export-onnx: error: "), err
    return err[0]


def test_export_round_trip(model_dir, tmp_path, capsys):
    out = tmp_path / "denoiser.onnx"
    assert main(["export-onnx", "--model", str(model_dir), "--out", str(out), "--opset", "17"]) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and [p.name for p in tmp_path.iterdir()] == ["denoiser.onnx"]
    assert "4 temporal-attention and 16 temporal-conv layers" in printed
    difference = float(re.search(r"max_abs_diff=(\S+)", printed).group(1))
    assert 0 <= difference < 1e-4
    # The weights survive save/load bit for bit: the engine accepts the file for the loaded model.
    folder = WorldModelFolder.load(model_dir)
    engine = OrtImaginationEngine(folder.model, folder.scheduler, onnx_model=out, device="cpu")
    assert engine.layout.action_dim == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "/nonexistent/wm"], "model folder '/nonexistent/wm' does not exist"),
        (["--opset", "9"], r"`opset` must be in \[14, 20\]. Got 9."),
    ],
)
def test_bad_input_gives_one_line_and_writes_nothing(model_dir, tmp_path, capsys, argv, message):
    argv = ["--model", str(model_dir), *argv] if argv[0] != "--model" else argv
    line = one_error_line(capsys, ["export-onnx", *argv, "--out", str(tmp_path / "d.onnx")])
    assert re.search(message, line)
    assert list(tmp_path.iterdir()) == []


def test_out_in_a_missing_directory(model_dir, tmp_path, capsys):
    line = one_error_line(
        capsys, ["export-onnx", "--model", str(model_dir), "--out", str(tmp_path / "no" / "d.onnx")]
    )
    assert f"directory '{tmp_path / 'no'}' does not exist" in line
    assert list(tmp_path.iterdir()) == []
