"""`vid2world demo` on bad input: one error line, exit code 2, no nodes started, no report written.

The runs with real nodes are in test/demo/test_demo_end_to_end.py.
"""

import pytest

from ros2_vid2world.cli import main


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world demo: error: "), err
    return err[0]


@pytest.fixture(scope="module")
def three_dim_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "arm3"
    assert main(["causalize", "--preset", "tiny", "--action-dim", "3", "--out", str(path)]) == 0
    return path


def test_a_missing_model_folder(tmp_path, capsys):
    line = one_error_line(capsys, ["demo", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])
    assert "--model" in line and "does not exist" in line
    assert not (tmp_path / "out").exists()


def test_a_model_of_the_wrong_action_dimension(tmp_path, capsys, three_dim_model):
    capsys.readouterr()
    line = one_error_line(capsys, ["demo", "--model", str(three_dim_model), "--out", str(tmp_path / "out")])
    assert "dimension 3" in line and "2 joints" in line
    assert not (tmp_path / "out").exists()


def test_bad_counts_and_a_missing_config(tmp_path, capsys, three_dim_model):
    capsys.readouterr()
    model = ["--model", str(three_dim_model)]
    assert "--episodes must be an integer >= 1" in one_error_line(capsys, ["demo", *model, "--episodes", "0"])
    line = one_error_line(capsys, ["demo", *model, "--goals", "exploration", "--goal-steps", "0"])
    assert line == "vid2world demo: error: --goal-steps must be an integer >= 1. Got 0."
    line = one_error_line(capsys, ["demo", *model, "--config", str(tmp_path / "none.yaml")])
    assert "--config" in line and "cannot be read" in line


def test_a_model_without_the_state_probe_the_config_reads(tmp_path, capsys):
    path = tmp_path / "arm2"
    assert main(["causalize", "--preset", "tiny", "--action-dim", "2", "--out", str(path)]) == 0
    capsys.readouterr()
    line = one_error_line(capsys, ["demo", "--model", str(path), "--out", str(tmp_path / "out")])
    assert "has no state_probe/ but the config sets planner.probe_weight > 0" in line and str(path) in line
    assert "vid2world probe" in line and not (tmp_path / "out").exists()


def test_an_unknown_task(tmp_path, capsys):
    line = one_error_line(capsys, ["demo", "--task", "stack", "--out", str(tmp_path / "out")])
    assert line == "vid2world demo: error: --task must be one of ['reacher', 'push']. Got 'stack'."
    assert not (tmp_path / "out").exists()


def test_the_push_demo_without_its_model(tmp_path, capsys, monkeypatch):
    from ros2_vid2world.demo import model_check

    out = tmp_path / "out"
    push = ["demo", "--task", "push", "--out", str(out)]
    line = one_error_line(capsys, [*push, "--model", str(tmp_path / "nope")])
    assert "--model" in line and "does not exist" in line and not out.exists()
    # No --model: the shipped models/push, here not found (an install without it).
    monkeypatch.setattr(model_check, "find_shared", lambda relative: None)
    line = one_error_line(capsys, push)
    assert "the shipped models/push was not found" in line and "--model DIR" in line and not out.exists()


def test_a_task_that_is_not_the_configs(tmp_path, capsys, three_dim_model):
    from ros2_vid2world.demo.demo_settings import find_shared

    capsys.readouterr()
    config = find_shared("config/demo.yaml")
    argv = ["demo", "--task", "push", "--config", str(config), "--model", str(three_dim_model)]
    line = one_error_line(capsys, [*argv, "--out", str(tmp_path / "out")])
    assert line == f"vid2world demo: error: --task push but --config {str(config)!r} is for the reacher."
    assert not (tmp_path / "out").exists()


def test_a_push_model_whose_probe_does_not_read_the_block(tmp_path, capsys):
    from ros2_vid2world.world_model.folder import save_state_probe
    from ros2_vid2world.world_model.state_probe import StateProbe

    path = tmp_path / "arm2"
    assert main(["causalize", "--preset", "tiny", "--action-dim", "2", "--out", str(path)]) == 0
    save_state_probe(path, StateProbe(["pusher_x", "pusher_y"], [False, False], image_size=[16, 16]))
    capsys.readouterr()
    out = tmp_path / "out"
    line = one_error_line(capsys, ["demo", "--task", "push", "--model", str(path), "--out", str(out)])
    assert "reads ['pusher_x', 'pusher_y'], but with planner.object_weight and planner.reach_weight" in line
    assert "object_x" in line and not out.exists()
