"""`vid2world eval-bag --dataset`: the evaluation on a dataset folder imported from LeRobot, and the
input refused when it cannot be evaluated."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ros2_vid2world.bags.image_metrics import PSNR_CAP_DB
from ros2_vid2world.cli import main
from ros2_vid2world.dataset import DatasetWriter
from test.conftest import write_tiny_model
from test.dataset.lerobot_files import episodes_truth, write_v30

# Small enough for seconds on one core: 2 starts, 2 frames of context and horizon, one denoising step.
QUICK = ["--context", "2", "--horizon", "2", "--starts", "2", "--denoise-steps", "1", "--planner-starts", "1",
         "--population", "4", "--iterations", "1", "--threads", "1"]  # fmt: skip


pytestmark = pytest.mark.usefixtures("keep_torch_threads")  # --threads changes the whole process


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """A LeRobot v3.0 dataset (3 joints, 32x48 frames) imported as a dataset folder."""
    folder = tmp_path_factory.mktemp("lerobot")
    write_v30(folder / "lerobot", episodes_truth([6, 9, 7]), data_files=[[0, 1, 2]], video_files=[[0, 1, 2]])
    assert main(["dataset", "--lerobot", str(folder / "lerobot"), "--out", str(folder / "ds")]) == 0
    return folder / "ds"


def one_error_line(capsys, argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world eval-bag: error: "), err
    return err[0]


def test_an_imported_dataset_is_evaluated_at_the_models_size(tmp_path, imported, capsys):
    model = write_tiny_model(tmp_path / "model", action_dim=3)
    argv = ["eval-bag", "--dataset", str(imported), "--model", str(model), "--out", str(tmp_path / "report"),
            *QUICK, "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dataset"] == str(imported) and "bags" not in summary
    assert summary["episodes"] == 3 and summary["fps"] == 10 and summary["image_size"] == [16, 16]
    assert "LeRobot dataset" in summary["action_source"]
    assert summary["starts"] == 2 and summary["frames_evaluated"] == 4 and summary["planner"]["starts"] == 1
    # Every frame differs from the one before: copying the last frame is far from exact.
    assert max(summary["copy_last_psnr"]) < PSNR_CAP_DB and np.isfinite(summary["psnr"]).all()
    assert f"on `{imported}`" in (tmp_path / "report" / "report.md").read_text()


def test_a_still_dataset_copies_the_last_frame_exactly(tmp_path, capsys):
    # Frames of another size than the model's are resized: a still 24x24 scene stays still at 16x16.
    still = np.full((6, 24, 24, 3), (40, 120, 200), np.uint8)
    with DatasetWriter(tmp_path / "still", fps=10) as writer:
        for _ in range(2):
            writer.add_episode(still, np.zeros((6, 2), np.float32))
        writer.close()
    model = write_tiny_model(tmp_path / "m")
    argv = ["eval-bag", "--dataset", str(tmp_path / "still"), "--model", str(model),
            "--out", str(tmp_path / "report"), *QUICK, "--planner-starts", "0", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["copy_last_psnr"] == [PSNR_CAP_DB] * 2 and summary["copy_last_ssim"] == [1.0, 1.0]


@pytest.mark.parametrize(
    "extra, match",
    [
        ([], "the model at {model!r} takes actions of dimension 2, but the dataset's actions (action of the "
             "LeRobot dataset"),
        (["--image-topic", "/camera"], "--image-topic is an option for reading bags, not for --dataset."),
        (["{dataset}"], "give rosbag2 folders or --dataset, not both."),
    ],
)  # fmt: skip
def test_bad_input_is_one_line(tmp_path, imported, tiny_model_path, capsys, extra, match):
    extra = [value.format(dataset=imported) for value in extra]
    argv = ["eval-bag", "--dataset", str(imported), "--model", str(tiny_model_path), "--out",
            str(tmp_path / "report"), *QUICK, *extra]  # fmt: skip
    assert match.format(model=str(tiny_model_path)) in one_error_line(capsys, argv)
    assert not (tmp_path / "report").exists()


def test_neither_bags_nor_a_dataset(tmp_path, tiny_model_path, capsys):
    argv = ["eval-bag", "--model", str(tiny_model_path), "--out", str(tmp_path / "report")]
    assert "give rosbag2 folders, or a dataset folder with --dataset." in one_error_line(capsys, argv)
