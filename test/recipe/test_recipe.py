"""Recipes: every step of a model from one file, each step's settings validated as its command's, a
finished step skipped, a changed one re-run with everything after it that reads it, an interrupted
training step resumed, and the model published with its card kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ros2_vid2world.cli import main
from ros2_vid2world.recipe.recipe_runner import run_recipe
from ros2_vid2world.world_model.folder import WorldModelFolder

TOPICS = {"image_topic": "/camera/image_raw", "joint_topic": "/joint_states",
          "action_topic": "/forward_command_controller/commands"}  # fmt: skip
TRAIN = {"data": "@data", "clip_frames": 3, "batch_size": 2, "warmup_steps": 1, "holdout_episodes": 1,
         "checkpoint_every": 1, "log_every": 1}  # fmt: skip


def tiny_recipe(tmp_path, **train_overrides) -> dict:
    return {
        "work_dir": str(tmp_path / "run"),
        "publish": {"step": "probed", "to": str(tmp_path / "models" / "tiny")},
        "steps": [
            {"name": "bags", "collect": {"episodes": 3, "steps": 6, "size": 16, "seed": 1}},
            {"name": "data", "dataset": {"bags": ["@bags"], "size": "16x16", **TOPICS}},
            {"name": "base", "pretrain": {**TRAIN, "preset": "tiny", "pretrain_steps": 2}},
            {"name": "init", "causalize": {"base": "@base", "data": "@data", "max_frames": 3,
                                           "prediction_type": "v_prediction", "action_init": "random"}},
            {"name": "early", "train": {**TRAIN, "init": "@init", "steps": 4, "stop_at": 2,
                                        **train_overrides}},
            {"name": "late", "train": {**TRAIN, "init": "@init", "steps": 4, "continue": "@early",
                                       **train_overrides}},
            {"name": "probed", "probe": {"model": "@late", "data": "@data", "steps": 3, "batch_size": 8,
                                         "holdout_episodes": 1}},
            {"name": "report", "eval_bag": {"dataset": "@data", "model": "@probed", "context": 1,
                                            "horizon": 1, "starts": 2, "denoise_steps": 1}},
        ],
    }  # fmt: skip


def write(tmp_path, recipe: dict, name: str = "tiny.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("recipe")
    (tmp_path / "models" / "tiny").mkdir(parents=True)
    (tmp_path / "models" / "tiny" / "README.md").write_text("# the card\n")
    lines: list[str] = []
    summary = run_recipe(write(tmp_path, tiny_recipe(tmp_path)), report=lines.append)
    return tmp_path, summary, lines


def test_every_step_runs_and_the_model_is_published_with_its_card(finished, one_torch_thread):
    tmp_path, summary, lines = finished
    assert list(summary["steps"]) == ["bags", "data", "base", "init", "early", "late", "probed", "report"]
    published = tmp_path / "models" / "tiny"
    folder = WorldModelFolder.load(published)
    assert folder.state_probe is not None and folder.model.config.max_frames == 3
    assert (published / "README.md").read_text() == "# the card\n"
    # The early stop ran 2 of a 4-step schedule; the continuation went on from there, not from 0.
    assert summary["steps"]["early"]["stages"]["transfer"]["steps"] == 2
    assert summary["steps"]["late"]["stages"]["transfer"]["started_at"] == 2
    assert json.loads((tmp_path / "run" / "report" / "report.json").read_text())["starts"] == 2


def test_running_again_skips_every_finished_step(finished, one_torch_thread):
    tmp_path, _, _ = finished
    lines: list[str] = []
    run_recipe(write(tmp_path, tiny_recipe(tmp_path)), report=lines.append)
    assert sum("skipped" in line for line in lines) == 8


def test_a_changed_step_runs_again_with_the_steps_that_read_it(finished, one_torch_thread):
    tmp_path, _, _ = finished
    lines: list[str] = []
    run_recipe(write(tmp_path, tiny_recipe(tmp_path, learning_rate=1e-3)), report=lines.append)
    skipped = [line.split(":")[1].strip() for line in lines if "skipped" in line]
    assert skipped == ["bags", "data", "base", "init"]
    run_recipe(write(tmp_path, tiny_recipe(tmp_path)), report=lines.append)  # back as it was


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda r: r["steps"][4]["train"].update(lr=1e-3), "step 'early' (train): unknown setting(s) ['lr']"),
        (lambda r: r["steps"][4]["train"].update(init="@nowhere"), "'@nowhere' is not an earlier step"),
        (lambda r: r["steps"][1].update(name="bags"), "step 'bags': the name is used by an earlier step"),
        (lambda r: r["steps"][4]["train"].update(steps=-1), "`steps` must be an integer >= 0. Got -1"),
        (lambda r: r["steps"][0].update(fly={}), "expected exactly one of"),
        (lambda r: r["steps"].append({"name": "big", "finer_patches": {"model": "@probed", "factor": 1}}),
         "step 'big' (finer_patches): `factor` must be an integer >= 2. Got 1"),
    ],
)
def test_a_bad_recipe_is_one_line_naming_the_file_and_step(tmp_path, capsys, change, message):
    recipe = tiny_recipe(tmp_path)
    change(recipe)
    path = write(tmp_path, recipe, "bad.yaml")
    assert main(["train", "--recipe", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and message in err[0], err
    assert not (tmp_path / "run").exists()  # checked before anything ran


def test_the_table_step_gathers_the_reports(finished, tmp_path, one_torch_thread):
    recipe_dir, _, _ = finished
    recipe = tiny_recipe(recipe_dir)
    recipe["steps"].append({"name": "table", "table": {"rows": {"tiny model": "@report"}, "title": "Tiny",
                                                      "copy_to": str(tmp_path / "docs" / "tiny.md")}})
    run_recipe(write(recipe_dir, recipe, "with_table.yaml"), report=lambda line: None)
    text = (tmp_path / "docs" / "tiny.md").read_text()
    assert text.startswith("## Tiny") and "| tiny model | PSNR dB |" in text and "| copy last frame |" in text


def test_a_finer_patches_step_writes_the_model_and_its_probe_for_larger_images(finished, one_torch_thread):
    recipe_dir, _, _ = finished
    recipe = tiny_recipe(recipe_dir)
    recipe["steps"].append({"name": "finer", "finer_patches": {"model": "@probed", "factor": 2}})
    run_recipe(write(recipe_dir, recipe, "finer.yaml"), report=lambda line: None)
    coarse = WorldModelFolder.load(recipe_dir / "run" / "probed")
    finer = WorldModelFolder.load(recipe_dir / "run" / "finer")
    assert coarse.image_size == (16, 16) and finer.image_size == (32, 32)
    assert finer.patch_size == 2 * coarse.patch_size and finer.state_probe.config.image_size == [32, 32]
    assert finer.action_stats == coarse.action_stats


def test_a_demo_step_with_a_bad_planner_setting_is_refused_before_anything_runs(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    recipe["steps"].append({"name": "closed_loop", "demo": {"model": "@probed", "episodes": 2,
                                                            "planner": {"planner.population": 1}}})
    path = write(tmp_path, recipe, "demo.yaml")
    assert main(["train", "--recipe", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "step 'closed_loop' (demo)" in err and "planner.population" in err
    assert not (tmp_path / "run").exists()


def test_a_demo_step_with_a_misspelt_planner_setting_is_refused_before_anything_runs(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    recipe["steps"].append({"name": "closed_loop", "demo": {"model": "@probed", "episodes": 2,
                                                            "planner": {"planner.populaton": 8}}})
    path = write(tmp_path, recipe, "demo.yaml")
    assert main(["train", "--recipe", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "step 'closed_loop' (demo)" in err and "declares no parameter ['planner.populaton']" in err
    assert not (tmp_path / "run").exists()


def test_a_step_reads_a_file_of_an_earlier_step_and_an_export_step_checks_its_settings(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    recipe["steps"].append({"name": "export", "export_onnx": {"model": "@probed", "int8": True}})
    path = write(tmp_path, recipe, "export.yaml")
    assert main(["train", "--recipe", str(path)]) == 2
    assert "needs `model`, and `data` exactly when `int8` is true" in capsys.readouterr().err
    from ros2_vid2world.recipe.recipe_file import references

    assert references({"planner": {"onnx_model": "@export/denoiser.int8.onnx"}, "model": "@probed"}) == [
        "export", "probed",
    ]
    recipe["steps"][-1] = {"name": "closed_loop", "demo": {"model": "@probed",
                                                           "planner": {"onnx_model": "@nowhere/a.onnx"}}}
    assert main(["train", "--recipe", str(write(tmp_path, recipe, "ref.yaml"))]) == 2
    assert "'@nowhere' is not an earlier step" in capsys.readouterr().err


def test_a_domain_collect_step_checks_its_domain(tmp_path, capsys):
    recipe = tiny_recipe(tmp_path)
    other = {"domain": "spaceship", "episodes": 1, "steps": 2}
    recipe["steps"].insert(0, {"name": "other", "collect": other})
    assert main(["train", "--recipe", str(write(tmp_path, recipe, "d.yaml"))]) == 2
    assert "step 'other' (collect): --domain must be one of" in capsys.readouterr().err


def test_a_push_collect_step_takes_the_push_task_settings(tmp_path):
    push = {"task": "push", "episodes": 1, "steps": 3, "size": 16, "max_pusher_speed": 0.2}
    recipe = {"work_dir": str(tmp_path / "run"), "steps": [{"name": "push", "collect": push}]}
    summary = run_recipe(write(tmp_path, recipe, "push.yaml"), report=lambda line: None)
    assert summary["steps"]["push"]["episodes"] == 1


def test_a_closed_loop_row_shows_success_and_the_median_decision():
    from ros2_vid2world.recipe.recipe_steps import _markdown_table

    demo = {"success_rate": 0.94, "episodes_completed": {"learned": 50, "random": 0, "oracle": 50},
            "random_success_rate": None,
            "oracle_success_rate": 0.98, "decision_latency": {"learned": {"median_s": 0.8123}}}
    text = _markdown_table("Frontier", {"cem 16 x 2": demo})
    assert "| closed loop | success | episodes | median decision (s) | random | oracle |" in text
    assert "| cem 16 x 2 | 0.94 | 50 | 0.81 | - | 0.98 |" in text


def test_an_export_step_writes_the_fp32_and_int8_denoisers_a_demo_step_can_name(finished, one_torch_thread):
    recipe_dir, _, _ = finished
    recipe = tiny_recipe(recipe_dir)
    export = {"model": "@probed", "int8": True, "data": "@data", "clips": 2, "history_frames": 1,
              "horizon": 2}
    recipe["steps"].append({"name": "export", "export_onnx": export})
    results = run_recipe(write(recipe_dir, recipe, "with_export.yaml"), report=lambda line: None)
    export = results["steps"]["export"]
    assert export["files"] == ["denoiser.int8.onnx", "denoiser.onnx"]
    assert "int8 vs fp32 onnxruntime" in export["printed"]  # the command's own agreement check ran
    assert Path(export["out"], "denoiser.int8.onnx").stat().st_size > 0


SHIPPED = Path(__file__).parents[2] / "recipes"


@pytest.mark.parametrize("shipped", sorted(path.name for path in SHIPPED.glob("*.yaml")))
def test_every_shipped_recipe_passes_its_checks(shipped):
    """Each step of recipes/*.yaml validated as its command would (nothing runs): a setting renamed in
    code, or a typo in a recipe, fails here rather than hours into a run."""
    from ros2_vid2world.recipe.recipe_runner import check_recipe

    assert check_recipe(SHIPPED / shipped) > 0


def test_a_table_of_closed_loop_rows_plots_success_against_the_median_decision(tmp_path):
    import numpy as np
    from PIL import Image

    from ros2_vid2world.recipe.frontier_plot import COLORS
    from ros2_vid2world.recipe.recipe_steps import run_table

    rows = {}
    for label, rate, median in (("slow, sure", 0.96, 1.4), ("fast, less sure", 0.80, 0.5)):
        folder = tmp_path / label.replace(", ", "_")
        folder.mkdir()
        report = {"success_rate": rate, "success_rate_ci95": {"learned": [rate - 0.1, min(1.0, rate + 0.03)]},
                  "episodes_completed": 50, "decision_latency": {"learned": {"median_s": median}}}
        (folder / "report.json").write_text(json.dumps(report))
        rows[label] = str(folder)
    plot = tmp_path / "docs" / "frontier.png"
    run_table({"rows": rows, "title": "Frontier", "plot_to": str(plot)}, tmp_path / "table", "step 'table'")
    pixels = np.asarray(Image.open(plot).convert("RGB"))[:, :560]  # the axes, not the legend

    def centre(color):
        rows_, columns = np.nonzero((pixels == color).all(axis=-1))
        assert len(rows_), f"no point drawn in {color}"
        return columns.mean(), rows_.mean()

    (slow_x, slow_y), (fast_x, fast_y) = centre(COLORS[0]), centre(COLORS[1])
    assert slow_x > fast_x  # more seconds: further right
    assert slow_y < fast_y  # more success: higher up
    assert (tmp_path / "table" / "frontier.png").read_bytes() == plot.read_bytes()


def test_plot_to_without_closed_loop_rows_is_refused(tmp_path):
    from ros2_vid2world.recipe.recipe_steps import run_table

    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "report.json").write_text(json.dumps({"psnr": [30.0], "copy_last_psnr": [31.0]}))
    with pytest.raises(ValueError, match="`plot_to` needs demo rows with a median decision time"):
        run_table({"rows": {"m": str(tmp_path / "eval")}, "plot_to": str(tmp_path / "p.png")},
                  tmp_path / "table", "step 'table'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eval"]  # nothing written
