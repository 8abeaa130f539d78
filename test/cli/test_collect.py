"""`vid2world collect`: writes the bag, prints a summary (text or JSON), keeps stdout clean, refuses --out."""

import json

import numpy as np
from rosbags.highlevel import AnyReader

from ros2_vid2world.cli import main


def test_json_summary_on_stdout_progress_on_stderr(tmp_path, capsys):
    out = tmp_path / "bag"
    argv = ["collect", "--episodes", "2", "--steps", "2", "--out", str(out), "--size", "16", "--json"]
    assert main([*argv, "--storage", "mcap", "--seed", "3"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["path"] == str(out) and summary["storage"] == "mcap"
    assert (summary["episodes"], summary["steps"], summary["frames"], summary["image_size"]) == (2, 2, 6, 16)
    assert summary["seed"] == 3 and summary["seconds_per_episode"] > 0
    assert "collect" in captured.err  # the progress bar
    with AnyReader([out]) as reader:
        assert sum(c.msgcount for c in reader.connections if c.topic == "/camera/image_raw") == 6


def test_existing_out_is_one_error_line_unless_forced(tmp_path, capsys):
    out = tmp_path / "bag"
    out.mkdir()
    argv = ["collect", "--episodes", "1", "--steps", "1", "--out", str(out), "--size", "16"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    refused = f"vid2world collect: error: --out {str(out)!r} already exists; pass --force to replace it."
    assert err == [refused]
    assert main([*argv, "--force"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith(f"wrote {out} (sqlite3): 1 episodes x 1 steps, 2 frames of 16 px")


def test_bad_sizes_are_one_error_line(tmp_path, capsys):
    argv = ["collect", "--steps", "1", "--out", str(tmp_path / "b")]
    assert main([*argv, "--episodes", "0"]) == 2
    assert main([*argv, "--episodes", "1", "--size", "2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "--episodes and --steps must be positive" in err[0] and "`image_size`" in err[1]
    assert not (tmp_path / "b").exists()


def test_the_control_period_sets_the_time_between_frames(tmp_path, capsys):
    out = tmp_path / "push"
    argv = ["collect", "--task", "push", "--episodes", "1", "--steps", "3", "--size", "16", "--out", str(out)]
    assert main([*argv, "--control-period", "0.2"]) == 0
    with AnyReader([out]) as reader:
        images = [c for c in reader.connections if c.topic == "/camera/image_raw"]
        stamps = [stamp for _, stamp, _ in reader.messages(connections=images)]
    assert np.round(np.diff(stamps) * 1e-9, 6).tolist() == [0.2, 0.2, 0.2]
    capsys.readouterr()
    assert main([*argv, "--control-period", "0.025", "--force"]) == 2
    assert main([*argv, "--control-period", "0.015", "--force"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "`control_period` must be a multiple of the physics step 0.01 s" in err[0]
    assert err[1] == "vid2world collect: error: --control-period must be in [0.02, 10]. Got 0.015."
    assert out.exists()  # the bag already there is kept
