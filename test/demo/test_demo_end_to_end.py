"""`vid2world demo` end to end with real processes: sim_node and planner_node over DDS, a tiny model.

What is asserted is the run's structure (episodes, steps, pictures, same start/goal pairs for every
policy, the nodes gone afterwards) and its fault handling, not success rates: the model is random.
"""

import json
import os
import signal

import pytest
from PIL import Image

from .conftest import DEMO_TIMEOUT_S, demo_process, is_running, node_pids

MAX_STEPS = 3


def test_one_episode_end_to_end_writes_the_report(tmp_path, causalized_tiny_model, fast_config):
    out = tmp_path / "out"
    process = demo_process(
        [
            "--model", str(causalized_tiny_model), "--config", str(fast_config),
            "--episodes", "1", "--max-steps", str(MAX_STEPS), "--out", str(out), "--json",
        ],
        tmp_path,
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=DEMO_TIMEOUT_S)
    assert process.returncode == 0, stderr
    printed = json.loads(stdout)
    report = json.loads((out / "report.json").read_text())
    assert printed == report
    for key in ("success_rate", "random_success_rate", "oracle_success_rate"):
        assert report[key] in (0.0, 1.0)  # one episode each
    assert report["status"] == "complete" and report["error"] is None
    assert report["episodes_completed"] == {"learned": 1, "random": 1, "oracle": 1}
    (episode,) = report["episodes"]
    assert episode["seed"] == report["settings"]["episode_seeds"][0]
    for policy in ("learned", "random", "oracle"):
        outcome = episode[policy]
        assert outcome["seed"] == episode["seed"]
        assert 1 <= outcome["steps"] <= MAX_STEPS
        assert len(outcome["distances_m"]) == outcome["steps"] + 1
        assert outcome["final_distance_m"] > 0
        actions = outcome["actions"]
        assert len(actions) == outcome["steps"] and all(-3.0 <= a <= 3.0 for step in actions for a in step)
    # The start/goal pair driven over ROS 2 is the one the in-process baselines got: same start distance.
    starts = {episode[policy]["start_distance_m"] for policy in ("learned", "random", "oracle")}
    assert max(starts) - min(starts) < 1e-9
    # The planner's plans aimed at this episode's goal, and no late command stepped the episode.
    assert episode["learned"]["notes"] == []
    latency = report["decision_latency"]["learned"]
    assert latency["decisions"] == episode["learned"]["steps"] and latency["median_s"] > 0
    assert (out / "report.md").read_text().startswith("# vid2world demo")
    assert (out / report["files"]["plot"]).stat().st_size > 0
    assert sorted(report["files"]["gifs"]) == [f"gifs/{p}_01.gif" for p in ("learned", "oracle", "random")]
    with Image.open(out / "gifs" / "learned_01.gif") as gif:
        assert gif.n_frames == episode["learned"]["steps"] + 1
    pids = node_pids(stderr)
    assert set(pids) == {"planner_node", "sim_node"}
    assert not any(is_running(pid) for pid in pids.values()), "the demo stops its nodes"
    assert "Traceback" not in (out / "logs" / "planner_node.log").read_text()


def test_the_push_demo_end_to_end(tmp_path, causalized_tiny_push_model, fast_push_config):
    """`--task push`: the pusher and its block over ROS 2, the object cost read by the model's probe, the
    block's distance and angle error per step for every policy, and the block's poses in the pairs."""
    out, steps = tmp_path / "out", 2
    process = demo_process(
        [
            "--task", "push", "--model", str(causalized_tiny_push_model), "--config", str(fast_push_config),
            "--episodes", "1", "--max-steps", str(steps), "--out", str(out), "--json",
        ],
        tmp_path,
    )  # fmt: skip
    stdout, stderr = process.communicate(timeout=DEMO_TIMEOUT_S)
    assert process.returncode == 0, stderr
    report = json.loads(stdout)
    assert report["status"] == "complete" and report["task"] == "push"
    assert report["episodes_completed"] == {"learned": 1, "random": 1, "oracle": 1}
    assert report["settings"]["planner"]["object_weight"] == 100.0
    (episode,) = report["episodes"]
    assert set(episode["pair"]) >= {"start_block_pose", "goal_block_pose", "block_travel_m", "block_turn_deg"}
    for policy in ("learned", "random", "oracle"):
        outcome = episode[policy]
        assert 1 <= outcome["steps"] <= steps
        assert len(outcome["distances_m"]) == len(outcome["angle_errors_deg"]) == outcome["steps"] + 1
        assert 0 <= outcome["final_angle_error_deg"] <= 180
        assert all(-0.3 <= a <= 0.3 for action in outcome["actions"] for a in action)  # m/s
    # Over ROS 2 (~/goal_distance, /object_pose) and in-process, the same pair: the same start.
    distances = {episode[policy]["start_distance_m"] for policy in ("learned", "random", "oracle")}
    angles = {episode[policy]["angle_errors_deg"][0] for policy in ("learned", "random", "oracle")}
    assert max(distances) - min(distances) < 1e-9 and max(angles) - min(angles) < 0.01
    assert episode["learned"]["notes"] == []
    assert episode["pair"]["block_travel_m"] == pytest.approx(min(distances), abs=1e-4)
    assert (out / "report.md").read_text().startswith("# vid2world demo: simulated pushing")
    assert "Traceback" not in (out / "logs" / "planner_node.log").read_text()
    assert not any(is_running(pid) for pid in node_pids(stderr).values()), "the demo stops its nodes"


def test_a_killed_planner_stops_the_demo_and_keeps_completed_episodes(
    tmp_path, causalized_tiny_model, fast_config
):
    out = tmp_path / "out"
    process = demo_process(
        [
            "--model", str(causalized_tiny_model), "--config", str(fast_config),
            "--episodes", "4", "--max-steps", str(MAX_STEPS), "--out", str(out),
            "--skip-oracle", "--skip-random",
        ],
        tmp_path,
    )  # fmt: skip
    lines = []
    for line in process.stderr:  # the demo reports each episode as it completes
        lines.append(line)
        if "learned episode 1/4" in line:
            break
    pids = node_pids("".join(lines))
    assert set(pids) == {"planner_node", "sim_node"}, "".join(lines)
    os.kill(pids["planner_node"], signal.SIGKILL)
    _, rest = process.communicate(timeout=DEMO_TIMEOUT_S)
    assert process.returncode == 1
    error = rest.strip().splitlines()[-1]
    assert error.startswith("vid2world demo: error: planner_node was killed (SIGKILL)"), rest
    assert "kept" in error and "report.md" in error
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "failed" and "planner_node was killed" in report["error"]
    assert 1 <= report["episodes_completed"]["learned"] < 4
    assert [e["index"] for e in report["episodes"]] == list(range(report["episodes_completed"]["learned"]))
    assert report["random_success_rate"] is None and report["oracle_success_rate"] is None
    assert not is_running(pids["sim_node"]), "the sim is stopped too"
