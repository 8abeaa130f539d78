"""Action-free video of other DeepMind Control domains, rendered headless into dataset folders."""

import numpy as np
import pytest

from ros2_vid2world.cli import main
from ros2_vid2world.dataset import EpisodeDataset


def one_error_line(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("vid2world collect: error: "), err
    return err[0]


def test_a_domain_becomes_an_action_free_dataset_of_moving_frames(tmp_path):
    out = tmp_path / "cheetah"
    argv = ["collect", "--domain", "cheetah", "--episodes", "2", "--steps", "5", "--size", "16",
            "--out", str(out), "--json"]  # fmt: skip
    assert main(argv) == 0
    data = EpisodeDataset(out)
    assert [e["length"] for e in data.episodes] == [6, 6]
    assert data.frames.shape == (12, 16, 16, 3) and data.action_dim == 0
    # One frame per 0.1 s of simulated time: the cheetah's 0.01 s control step, 10 times.
    assert data.manifest["fps"] == pytest.approx(10.0) and data.control_period == pytest.approx(0.1)
    frames = np.asarray(data.frames, np.float32)
    assert all(np.abs(frames[t + 1] - frames[t]).mean() > 0 for t in range(5))  # the random actions move it


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--domain", "spaceship"], "--domain must be one of ["),
        (["--domain", "cheetah", "--task", "fly"], "--task of cheetah must be one of ['run']"),
        (["--domain", "cheetah", "--camera", "9"], "--camera of cheetah must be in [0, 1]"),
        # Without --domain, --task is the simulated robot's task.
        (["--task", "run"], "`task` must be one of ['easy', 'hard', 'push']. Got 'run'."),
        (["--camera", "1"], "--camera applies to --domain only"),
    ],
)
def test_bad_domains_are_one_line_and_write_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out"
    argv = ["collect", "--episodes", "1", "--steps", "2", "--size", "16", "--out", str(out), *extra]
    assert message in one_error_line(capsys, argv)
    assert not out.exists()
