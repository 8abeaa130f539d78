"""`vid2world train` from the command line: bad input in one line, and two data-parallel processes."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ros2_vid2world.cli import main
from test.training.conftest import square_dataset  # noqa: F401  (the fixture, shared with test/training)

ACCELERATE = Path(sys.executable).with_name("accelerate")


def test_a_missing_dataset_is_one_error_line(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "nowhere" in err[0] and "no manifest.json" in err[0]
    assert not (tmp_path / "m").exists()


def test_a_missing_base_is_one_error_line(square_dataset, tmp_path, capsys):  # noqa: F811
    code = main(["train", "--data", str(square_dataset), "--out", str(tmp_path / "m"),
                 "--base", str(tmp_path / "no_base")])
    assert code == 2
    assert "--base" in capsys.readouterr().err


def test_a_clean_context_share_out_of_range_is_one_error_line(square_dataset, tmp_path, capsys):  # noqa: F811
    code = main(["train", "--data", str(square_dataset), "--out", str(tmp_path / "m"),
                 "--clean-context-prob", "2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--clean-context-prob must be in [0, 1]. Got 2.0" in err[0]  # named as typed
    assert not (tmp_path / "m").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not ACCELERATE.exists(), reason="accelerate's launcher is not installed")
def test_two_processes_train_in_step_and_agree(square_dataset, tmp_path):  # noqa: F811
    # No GPU here: the trainer asks accelerate for the CPU, so the two ranks join a gloo group.
    command = [
        str(ACCELERATE), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(_free_port()),
        "-m", "ros2_vid2world.cli", "train", "--data", str(square_dataset), "--out", str(tmp_path / "m"),
        "--preset", "tiny", "--pretrain-steps", "2", "--steps", "2", "--clip-frames", "4",
        "--batch-size", "2", "--json",
    ]
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    summaries, text, decoder = [], result.stdout, json.JSONDecoder()
    while "{" in text:  # one object per rank; never trust two processes to keep lines apart
        summary, end = decoder.raw_decode(text, text.index("{"))
        summaries.append(summary)
        text = text[end:]
    assert sorted(s["rank"] for s in summaries) == [0, 1]
    assert all(s["num_processes"] == 2 for s in summaries)
    assert summaries[0]["weights_checksum"] == summaries[1]["weights_checksum"]
    assert (tmp_path / "m" / "vid2world.json").is_file()


def test_a_missing_init_model_is_one_error_line(square_dataset, tmp_path, capsys):  # noqa: F811
    code = main(["train", "--data", str(square_dataset), "--out", str(tmp_path / "m"),
                 "--init", str(tmp_path / "no_model")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert "--init" in err[0] and "no_model" in err[0] and "does not exist" in err[0]
    assert not (tmp_path / "m").exists()
