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


# One calibration clip of 2 + 2 frames with 2 candidates and one denoising step: seconds, not minutes.
QUICK_INT8 = ["--clips", "1", "--candidates", "2", "--history-frames", "2", "--horizon", "2",
              "--denoise-steps", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def blob_data(tmp_path_factory):
    from test.planning.blob_dataset import write_blob_dataset

    return write_blob_dataset(tmp_path_factory.mktemp("data") / "blobs")


@pytest.mark.usefixtures("one_torch_thread")
def test_int8_export_writes_both_files_and_reports_its_psnr(tiny_model_path, blob_data, tmp_path, capsys):
    out = tmp_path / "denoiser.onnx"
    argv = ["export-onnx", "--model", str(tiny_model_path), "--out", str(out), "--int8", "--data",
            str(blob_data), *QUICK_INT8]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["denoiser.int8.onnx", "denoiser.onnx"]
    assert f"wrote {tmp_path / 'denoiser.int8.onnx'}" in printed
    assert "calibrated on 3 denoiser calls from 1 clips" in printed  # 2 steps x 1 denoising call + 1 commit
    assert re.search(r"int8 vs fp32 onnxruntime, 4 frames imagined from 1 other clips .*PSNR \S+ dB", printed)
    folder = WorldModelFolder.load(tiny_model_path)
    int8 = tmp_path / "denoiser.int8.onnx"
    engine = OrtImaginationEngine(folder.model, folder.scheduler, onnx_model=int8, precision="int8")
    assert engine.precision == "int8"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--int8"], "--int8 needs --data DS: a dataset folder whose frames calibrate the int8 ranges"),
        (["--data", "DATA"], "--data is used with --int8 only"),
        (["--int8", "--data", "SMALL"], r"dataset '.*small' has 24x24 frames; the model takes 16x16"),
        (["--int8", "--data", "/nonexistent/ds"], r"dataset '/nonexistent/ds': no manifest.json"),
        (["--int8", "--data", "DATA", "--clips", "0"], r"--clips must be an integer >= 1. Got 0."),
        (["--int8", "--data", "DATA", "--horizon", "7"], r"--history-frames \+ --horizon \(11\) must fit"),
    ],
)
def test_bad_int8_input_gives_one_line_and_writes_nothing(
    tiny_model_path, blob_data, tmp_path_factory, capsys, argv, message
):
    from test.planning.blob_dataset import write_blob_dataset

    small = write_blob_dataset(tmp_path_factory.mktemp("data") / "small", size=24)
    argv = [{"DATA": str(blob_data), "SMALL": str(small)}.get(a, a) for a in argv]
    out = tmp_path_factory.mktemp("out")
    line = one_error_line(
        capsys, ["export-onnx", "--model", str(tiny_model_path), "--out", str(out / "d.onnx"), *argv]
    )
    assert re.search(message, line), line
    assert list(out.iterdir()) == []
