"""`vid2world dataset`'s three sources (bags, --lerobot, --to-lerobot): options of another source are
refused in one line, not ignored."""

from __future__ import annotations

import pytest

from ros2_vid2world.cli import main


@pytest.mark.parametrize(
    "argv, match",
    [
        (["bag", "--out", "ds"], "--image-topic is required to read bags."),
        (["bag", "--out", "ds", "--image-topic", "/c", "--state-key", "q"], "--state-key does not apply to"),
        (["bag", "--out", "ds", "--image-topic", "/c", "--camera-key", "k"], "--camera-key does not apply"),
        (["bag", "--image-topic", "/c"], "--out is required: the folder to write."),
        ([], "give rosbag2 folders, --lerobot DIR, or a dataset folder with --to-lerobot OUT."),
        (["--lerobot", "lr", "--to-lerobot", "out"], "give --lerobot (read a LeRobot dataset) or"),
        (["bag", "--lerobot", "lr", "--out", "ds"], "--lerobot reads one folder; BAG arguments do not"),
        (["--lerobot", "lr", "--out", "ds", "--fps", "5"], "--fps is an option for reading bags, not"),
        (["a", "b", "--to-lerobot", "out"], "--to-lerobot exports one dataset folder; got 2."),
        (["ds", "--to-lerobot", "out", "--episodes", "1"], "--episodes does not apply to --to-lerobot."),
        (["ds", "--to-lerobot", "out", "--action-space", "joint_delta"],
         "--action-space is an option for reading bags, not for --to-lerobot."),
    ],
)  # fmt: skip
def test_options_of_another_source_are_refused(tmp_path, monkeypatch, capsys, argv, match):
    monkeypatch.chdir(tmp_path)
    assert main(["dataset", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world dataset: error: ") and match in err[0], err
    assert list(tmp_path.iterdir()) == []


def test_episode_lists_are_checked_when_parsed(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["dataset", "--lerobot", "lr", "--out", "ds", "--episodes", "4-2"])
    assert exit_info.value.code == 2
    assert "must be episode indices and ranges, e.g. 0-4,7" in capsys.readouterr().err
