"""The report: rates and intervals from the episodes, JSON and Markdown that agree, GIFs and a plot, also
for a run that stopped early."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ros2_vid2world.demo.demo_report import write_report
from ros2_vid2world.demo.demo_result import DemoResult, wilson_interval
from ros2_vid2world.demo.demo_settings import DemoSettings
from ros2_vid2world.demo.episode_record import EpisodeRecord
from ros2_vid2world.demo.model_check import ModelInfo
from ros2_vid2world.demo.start_goal_pairs import StartGoalPair

from .conftest import SHIPPED_CONFIG, SHIPPED_PUSH_CONFIG


def record(policy: str, index: int, success_step: int | None, steps: int) -> EpisodeRecord:
    rng = np.random.default_rng(index)
    frame = lambda: rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)  # noqa: E731
    return EpisodeRecord(
        policy=policy,
        index=index,
        seed=100 + index,
        distances=list(np.linspace(0.2, 0.05, steps + 1)),
        success_step=success_step,
        steps=steps,
        actions=[[1.0, -1.0]] * steps,
        latencies_s=[0.5] * steps,
        frames=[frame() for _ in range(steps + 1)],
        imagined=[frame() for _ in range(steps)] + [None],
        goal=frame(),
    )


def result(tmp_path: Path, status="complete", learned=2) -> DemoResult:
    settings = DemoSettings.from_config(
        SHIPPED_CONFIG, model_path=tmp_path, out=tmp_path / "out", episodes=2, max_steps=5
    )
    demo = DemoResult(settings, ModelInfo(tmp_path, 2, (32, 32), 6), status=status, success_radius_m=0.06)
    demo.episodes["learned"] = [record("learned", 0, 3, 3), record("learned", 1, None, 5)][:learned]
    demo.episodes["oracle"] = [record("oracle", 0, 2, 2), record("oracle", 1, 4, 4)]
    demo.ran |= {"learned": True, "oracle": True}
    seeds = settings.seeds
    for record_ in demo.episodes["learned"] + demo.episodes["oracle"]:
        record_.seed = seeds[record_.index]
    # the first pair folds the elbow the other way, the second does not
    demo.pairs = {
        seeds[0]: StartGoalPair(seeds[0], (0.1, 1.5), (-1.0, -2.0)),
        seeds[1]: StartGoalPair(seeds[1], (0.1, 1.5), (2.0, 0.5)),
    }
    return demo


def test_report_files_agree_with_the_episodes(tmp_path):
    demo = result(tmp_path)
    seeds = demo.settings.seeds
    report = write_report(demo, tmp_path / "out")
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text()) == json.loads(json.dumps(report))
    assert report["success_rate"] == 0.5 and report["oracle_success_rate"] == 1.0
    assert report["random_success_rate"] is None and report["policies"]["random"] == "not run"
    assert report["learned_vs_oracle"] == 0.5
    assert report["episodes_completed"] == {"learned": 2, "random": 0, "oracle": 2}
    assert [e["seed"] for e in report["episodes"]] == report["settings"]["episode_seeds"]
    first = report["episodes"][0]
    assert first["learned"]["success_step"] == 3 and first["random"] is None
    assert first["oracle"]["final_distance_m"] == pytest.approx(0.05)
    latency = report["decision_latency"]["learned"]
    assert latency == {"median_s": 0.5, "mean_s": 0.5, "max_s": 0.5, "decisions": 8}
    assert "0.060 m" in report["success_criterion"] and "5 control steps" in report["success_criterion"]
    markdown = (out / "report.md").read_text()
    assert "| learned (ROS 2) | 0.50 |" in markdown and "| random | not run |" in markdown
    assert report["goals"].startswith("a random pose drawn independently of the start")
    assert f"Goal of each pair: {report['goals']}." in markdown
    assert report["episodes"][0]["pair"]["elbow_flip"] and not report["episodes"][1]["pair"]["elbow_flip"]
    flips = [note for note in report["limits"] if "elbow folded the other way" in note]
    assert len(flips) == 1 and "1 of the 2 pairs" in flips[0]
    assert "learned 1/1 there and 0/1 on the rest; oracle 1/1 there and 1/1 on the rest" in flips[0]
    assert f"| 1 | {seeds[0]} | yes | success in 3" in markdown
    assert f"| 2 | {seeds[1]} |  | fail (5)" in markdown
    assert "| 1 | " in markdown and "success in 3, 5.0 cm" in markdown and "fail (5)" in markdown
    assert sorted(report["files"]["gifs"]) == [
        "gifs/learned_01.gif", "gifs/learned_02.gif", "gifs/oracle_01.gif", "gifs/oracle_02.gif"
    ]  # fmt: skip
    with Image.open(out / "gifs" / "learned_02.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (3 * 128, 128 + 2 * 16)
    with Image.open(out / "success.png") as plot:
        assert plot.size[0] > plot.size[1]


def test_the_flip_note_names_the_cost_the_planner_used(tmp_path):
    from ros2_vid2world.demo.demo_report import _pair_notes

    demo = result(tmp_path)
    assert demo.settings.planner_values()["probe_weight"] > 0  # the shipped config reads a state probe
    (with_probe,) = _pair_notes(demo, horizon=3, probe_weight=1.0)
    (image_only,) = _pair_notes(demo, horizon=3, probe_weight=0.0)
    for note in (with_probe, image_only):
        assert note.startswith("1 of the 2 pairs have the goal's elbow folded the other way")
    assert "the joints the state probe reads off the imagined frames (planner.probe_weight 1)" in with_probe
    assert "local minimum that a 3-step lookahead often does not see past" in image_only
    assert "state probe" not in image_only


def test_exploration_goals_are_named_with_their_length(tmp_path):
    demo = result(tmp_path)
    demo.settings = DemoSettings.from_config(
        SHIPPED_CONFIG,
        sim_overrides={"goal_source": "exploration", "goal_steps": 12},
        model_path=tmp_path,
        out=tmp_path / "out",
        episodes=2,
    )
    report = write_report(demo, tmp_path / "out")
    assert "reaches from the start in 12 steps" in report["goals"] and "DINO-WM" in report["goals"]
    assert report["settings"]["goals"] == {"source": "exploration", "exploration_steps": 12}


def test_a_stopped_run_reports_what_it_completed(tmp_path):
    demo = result(tmp_path, status="failed", learned=1)
    demo.error = "planner_node was killed (SIGKILL) while the demo waited for decision 2"
    report = write_report(demo, tmp_path / "out")
    assert report["status"] == "failed" and "SIGKILL" in report["error"]
    assert report["episodes_completed"]["learned"] == 1 and report["success_rate"] == 1.0
    assert report["episodes"][1]["learned"] is None and report["episodes"][1]["oracle"] is not None
    assert any("stopped early" in note for note in report["limits"])
    assert "Status: **failed**: planner_node was killed" in (tmp_path / "out" / "report.md").read_text()


def test_wilson_interval():
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(46, 50)  # DINO-WM's 0.92 over 50 pairs
    assert low == pytest.approx(0.8116, abs=1e-3) and high == pytest.approx(0.9685, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == 1.0


def test_a_realtime_run_reports_time_to_success_and_the_longest_command_in_force(tmp_path):
    settings = DemoSettings.from_config(
        SHIPPED_CONFIG, model_path=tmp_path, out=tmp_path / "out", episodes=2, max_steps=5, realtime=True,
        planner_overrides={"execution": "continuous"}, run_random=False, run_oracle=False,
    )
    demo = DemoResult(settings, ModelInfo(tmp_path, 2, (32, 32), 6), status="complete", success_radius_m=0.06)
    first, second = record("learned", 0, 3, 3), record("learned", 1, None, 5)
    first.time_to_success_s, first.motion_steps, first.longest_command_s = 7.5, 3.2, 0.12
    second.motion_steps, second.longest_command_s = 5.0, 0.14
    demo.episodes["learned"] = [first, second]
    demo.ran["learned"] = True
    report = write_report(demo, tmp_path / "out")
    figures = report["realtime"]
    assert figures["execution"] == "continuous" and figures["longest_command_in_force_s"] == 0.14
    assert figures["median_time_to_success_s"] == 7.5 and figures["decisions"] == 8
    assert "periods of commanded motion" in report["success_criterion"]
    assert "in real time" in report["policies"]["learned"]
    assert report["episodes"][0]["learned"]["longest_command_s"] == 0.12
    text = (tmp_path / "out" / "report.md").read_text()
    assert "**Real time**" in text and "median time to success 7.5 s" in text


def push_result(tmp_path: Path) -> DemoResult:
    """Two short random-policy episodes of the push config's first pairs, in-process, as the learned and
    random policies' (the report does not care who drove)."""
    from ros2_vid2world.demo.random_policy import RandomPolicy
    from ros2_vid2world.demo.sim_episodes import run_sim_episode
    from ros2_vid2world.demo.start_goal_pairs import describe_pairs
    from ros2_vid2world.sim.sim_tasks import make_env

    settings = DemoSettings.from_config(
        SHIPPED_PUSH_CONFIG, model_path=tmp_path, out=tmp_path / "out", episodes=2, max_steps=2,
        sim_overrides={"image_size": 16}, run_oracle=False,
    )
    demo = DemoResult(settings, ModelInfo(tmp_path, 2, (64, 64), 6), status="complete", success_radius_m=0.02)
    env = make_env(settings.robot)
    try:
        demo.pairs = describe_pairs(env, settings.seeds)
        for policy in ("learned", "random"):
            random = RandomPolicy(*settings.action_bounds())
            random.name = policy
            demo.episodes[policy] = [
                run_sim_episode(env, random, index, seed, settings.max_steps)
                for index, seed in enumerate(settings.seeds)
            ]
            demo.ran[policy] = True
    finally:
        env.close()
    return demo


def test_the_push_report_gives_the_blocks_errors_and_poses_and_the_criterion(tmp_path):
    demo = push_result(tmp_path)
    report = write_report(demo, tmp_path / "out")
    assert report["task"] == "push" and report["settings"]["task"] == "push"
    criterion = report["success_criterion"]
    assert "block's centre within 0.02 m of the goal's and its yaw within 20 degrees" in criterion
    assert "2 control steps of 0.2 s" in criterion and "fingertip" not in criterion
    assert "PushT" in report["goals"] and "block pose" in report["goals"]
    assert "PushEnv" in report["policies"]["random"] and "pusher velocities" in report["policies"]["random"]
    first = report["episodes"][0]
    record = demo.episodes["learned"][0]
    pair = demo.pairs[first["seed"]]
    learned = first["learned"]
    assert learned["final_distance_m"] == record.distances[-1]
    assert learned["final_angle_error_deg"] == pytest.approx(np.degrees(record.angle_errors[-1]), abs=0.01)
    start_yaw = first["pair"]["start_block_pose"]["yaw_deg"]
    assert start_yaw == pytest.approx(np.degrees(pair.start_pose[2]), abs=0.1)
    assert first["pair"]["block_travel_m"] == pytest.approx(record.distances[0], abs=1e-4)
    markdown = (tmp_path / "out" / "report.md").read_text()
    assert markdown.startswith("# vid2world demo: simulated pushing")
    assert "| # | seed | block start | block goal | learned | random | oracle |" in markdown
    start, goal = first["pair"]["start_block_pose"], first["pair"]["goal_block_pose"]
    start_cell = f"({100 * start['x_m']:.1f}, {100 * start['y_m']:.1f}, {start['yaw_deg']:.0f})"
    goal_cell = f"({100 * goal['x_m']:.1f}, {100 * goal['y_m']:.1f}, {goal['yaw_deg']:.0f})"
    outcome = first["learned"]
    verdict = "success in" if outcome["success"] else f"fail ({outcome['steps']})"
    cell = f"{100 * outcome['final_distance_m']:.1f} cm, {outcome['final_angle_error_deg']:.0f} deg"
    assert f"| 1 | {first['seed']} | {start_cell} | {goal_cell} | {verdict}" in markdown and cell in markdown
    turns = [note for note in report["limits"] if "turn it" in note]
    assert len(turns) == 1 and "(medians over 2 pairs)" in turns[0]
    assert "learned " in turns[0] and "random " in turns[0] and "oracle" not in turns[0]
    assert not any("elbow" in note or "shoulder" in note for note in report["limits"])
    assert any("2 cm position tolerance is 2.4 px" in note for note in report["limits"])
    assert any("0.3 m/s limit" in note for note in report["limits"])


def test_the_reacher_report_has_no_push_fields(tmp_path):
    report = write_report(result(tmp_path), tmp_path / "out")
    assert report["task"] == "reacher"
    assert all("final_angle_error_deg" not in e["learned"] for e in report["episodes"])
    assert (tmp_path / "out" / "report.md").read_text().startswith("# vid2world demo: simulated reacher")
