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
