"""`vid2world eval-bag`: the summary and report files on a predictable bag, and bad input refused."""

import json

import numpy as np
import pytest
from PIL import Image

from ros2_vid2world.bags.image_metrics import PSNR_CAP_DB
from ros2_vid2world.cli import main
from test.bags.sim_bags import ACTION_TOPIC, IMAGE_TOPIC, JOINT_TOPIC, write_sim_bag
from test.conftest import write_tiny_model

TOPICS = ["--image-topic", IMAGE_TOPIC, "--joint-topic", JOINT_TOPIC, "--action-topic", ACTION_TOPIC]
# Small enough for seconds on one core: 2 starts, 2 frames of context and horizon, one denoising step.
QUICK = ["--context", "2", "--horizon", "2", "--starts", "2", "--denoise-steps", "1", "--planner-starts", "1",
         "--population", "4", "--iterations", "1", "--threads", "1"]  # fmt: skip


def static_scene(episode, index, size):
    return np.full((*size, 3), (40, 120, 200), np.uint8)


pytestmark = pytest.mark.usefixtures("keep_torch_threads")  # --threads changes the whole process


@pytest.fixture(scope="module")
def static_bag(tmp_path_factory):
    path = tmp_path_factory.mktemp("bags") / "static"
    write_sim_bag(path, episodes=2, frames=6, size=(24, 24), scene=static_scene)
    return path


def eval_args(bag, model, out, *extra):
    return ["eval-bag", str(bag), "--model", str(model), "--out", str(out), *TOPICS, *QUICK, *extra]


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world eval-bag: error: "), err
    return err[0]


def test_static_scene_report(tmp_path, static_bag, tiny_model_path, capsys):
    assert main(eval_args(static_bag, tiny_model_path, tmp_path / "report", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames_evaluated"] == 4 and summary["starts"] == 2
    # Nothing moves: copying the last frame is exact; the untrained model is not.
    assert summary["copy_last_psnr"] == [PSNR_CAP_DB] * 2 and summary["copy_last_ssim"] == [1.0, 1.0]
    assert len(summary["psnr"]) == 2 and max(summary["psnr"]) < 30 and len(summary["ssim"]) == 2
    assert summary["planner"]["starts"] == 1 and summary["image_size"] == [16, 16]
    report = tmp_path / "report"
    assert json.loads((report / "report.json").read_text())["psnr"] == summary["psnr"]
    assert "| 1 |" in (report / "report.md").read_text()
    for plot in ("psnr.png", "ssim.png"):
        with Image.open(report / plot) as image:
            assert image.format == "PNG" and image.size == (480, 320)
    with Image.open(report / "side_by_side.gif") as gif:
        # Two examples of 2 context + 2 imagined frames; identical neighbours may merge.
        assert gif.format == "GIF" and 2 <= gif.n_frames <= 8 and gif.size == (2 * 16 * 8 + 4, 16 * 8 + 4)


def test_without_planner_and_plain_output(tmp_path, static_bag, tiny_model_path, capsys):
    assert main(eval_args(static_bag, tiny_model_path, tmp_path / "report", "--planner-starts", "0")) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'report'}: 2 starts, 4 frames evaluated")
    assert "planner first action" not in out
    assert "Not run" in (tmp_path / "report" / "report.md").read_text()


def test_missing_model_folder(tmp_path, static_bag, capsys):
    line = one_error_line(capsys, eval_args(static_bag, tmp_path / "nope", tmp_path / "report"))
    assert "does not exist" in line and not (tmp_path / "report").exists()


def test_action_dimension_mismatch(tmp_path, static_bag, capsys):
    model = write_tiny_model(tmp_path / "three", action_dim=3)
    line = one_error_line(capsys, eval_args(static_bag, model, tmp_path / "report"))
    assert "takes actions of dimension 3, but the bag's actions" in line and "have dimension 2" in line
    assert not (tmp_path / "report").exists()


def test_context_and_horizon_must_fit(tmp_path, static_bag, tiny_model_path, capsys):
    argv = eval_args(static_bag, tiny_model_path, tmp_path / "report", "--context", "5", "--horizon", "4")
    assert "must fit the model's window of 8 frames" in one_error_line(capsys, argv)
    argv = eval_args(static_bag, tiny_model_path, tmp_path / "report", "--context", "4", "--horizon", "3")
    assert "no episode is long enough" in one_error_line(capsys, argv)
    assert not (tmp_path / "report").exists()


def test_existing_out_needs_force(tmp_path, static_bag, tiny_model_path, capsys):
    (tmp_path / "report").mkdir()
    line = one_error_line(capsys, eval_args(static_bag, tiny_model_path, tmp_path / "report"))
    assert "already exists; pass --force" in line


def test_context_and_horizon_default_to_what_the_models_window_fits(tmp_path, static_bag, capsys):
    # The shipped model sees 6 frames: the old fixed defaults (4 + 4) did not fit it.
    model = write_tiny_model(tmp_path / "window6", max_frames=6)
    argv = ["eval-bag", str(static_bag), "--model", str(model), "--out", str(tmp_path / "report"), *TOPICS,
            "--starts", "2", "--denoise-steps", "1", "--planner-starts", "1", "--population", "4",
            "--iterations", "1", "--threads", "1", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["context"] == 2 and len(summary["psnr"]) == 4
    assert summary["planner"]["starts"] == 1


def test_more_elites_than_candidates_is_refused_not_clamped(tmp_path, static_bag, tiny_model_path, capsys):
    line = one_error_line(capsys, eval_args(static_bag, tiny_model_path, tmp_path / "r", "--elites", "9"))
    assert "--elites must be in [1, population]. Got 9 with population=4." in line
    assert not (tmp_path / "r").exists()
