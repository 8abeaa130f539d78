"""A whole demo run: the learned planner over ROS 2, then the random and oracle baselines, then the report.

Faults are part of the run: when sim_node or planner_node dies (or stops answering), both are stopped,
the result is marked `failed` with what happened, and the report keeps the episodes completed so far.
Ctrl-C does the same and is re-raised. Bad input (the model, the config) raises ValueError before
anything runs, or as soon as the planner node refuses the model, and writes no report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from .demo_report import write_report
from .demo_result import DemoResult
from .demo_settings import DemoSettings
from .episode_record import EpisodeRecord
from .model_check import ModelInfo, check_model, probe_weights_set
from .node_processes import NodeFailure, NodeProcess, demo_domain_id
from .start_goal_pairs import describe_pairs

STARTUP_TIMEOUT_S = 180.0  # the planner imports torch and loads the model; the CPU may be shared
DECISION_TIMEOUT_S = 600.0  # one decision with heavy settings on a busy 2-core machine takes a minute

Progress = Callable[[str], None]


def run_demo(settings: DemoSettings, progress: Progress = lambda line: None) -> DemoResult:
    """Run, write the report into settings.out, and return the result (status complete or failed).

    Raises ValueError for bad input, KeyboardInterrupt after writing the report of an interrupted run.
    """
    planner = settings.planner_node.planner
    model = check_model(
        settings.model_path,
        planner.history_frames,
        planner.horizon,
        probe_users=probe_weights_set(planner),
        task=settings.task,
    )
    result = DemoResult(settings=settings, model=model)
    started = time.perf_counter()
    _describe_pairs(settings, result)
    try:
        _run_learned(settings, model, result, progress)
        _run_baselines(settings, model, result, progress)
        result.status = "complete"
    except KeyboardInterrupt:
        result.status = "interrupted"
        _finish(result, started, progress)
        raise
    except NodeFailure as exc:  # a node died or stopped doing its part
        result.status, result.error = "failed", str(exc)
    _finish(result, started, progress)
    return result


def _finish(result: DemoResult, started: float, progress: Progress) -> None:
    result.timings_s["total"] = time.perf_counter() - started
    write_report(result, result.settings.out)
    progress(f"report written to {result.settings.out / 'report.md'}")


def _run_learned(settings: DemoSettings, model: ModelInfo, result: DemoResult, progress: Progress) -> None:
    from .episode_runner import RosEpisodeRunner, unused_domain_id
    from .realtime_episodes import RealtimeEpisodeRunner

    domain_id = unused_domain_id(demo_domain_id())
    logs = settings.out / "logs"
    processes: list[NodeProcess] = []
    runner = None
    started = time.perf_counter()
    try:
        # The planner first: its start-up (torch, the model) is the slow part, and while it is disabled
        # no command can step the sim's own first episode.
        overrides = {"model_path": str(model.path.resolve()), **settings.planner_overrides()}
        planner = NodeProcess("planner_node", settings.config_path, overrides, logs, domain_id)
        processes.append(planner)
        runner_class = RealtimeEpisodeRunner if settings.realtime else RosEpisodeRunner
        runner = runner_class(settings, domain_id, processes, model.image_size, DECISION_TIMEOUT_S)
        state = runner.planner_state(STARTUP_TIMEOUT_S)
        if state != "active":
            reason = planner.last_log_line("configure failed") or f"it is {state}, not active"
            raise ValueError(f"planner_node did not start: {reason} (log: {planner.log_path})")
        runner.set_planner_enabled(False)
        # Episodes end at the budget or the first success: the sim ignores commands after either.
        episode_end = {"max_steps": settings.max_steps, "end_on_success": True}
        if settings.realtime:  # the budget is motion, not time: a slow planner holds in between
            episode_end = {"max_steps": 0, "max_motion_steps": settings.max_steps, "end_on_success": True,
                           "mode": "realtime"}
        episode_end.update(goal_source=settings.goal_source, goal_steps=settings.goal_steps)
        sim = NodeProcess("sim_node", settings.config_path, episode_end, logs, domain_id)
        processes.append(sim)
        runner.wait_for_sim(STARTUP_TIMEOUT_S)
        progress(
            f"planner_node (pid {planner.pid}) and sim_node (pid {sim.pid}) up on ROS domain {domain_id} "
            f"in {time.perf_counter() - started:.1f} s; logs in {logs}"
        )
        result.ran["learned"] = True
        result.timings_s["startup"] = time.perf_counter() - started
        for index, seed in enumerate(settings.seeds):
            record = runner.run_episode(index, seed, settings.max_steps)
            result.episodes["learned"].append(record)
            progress(_episode_line(record, settings))
    finally:
        result.timings_s["learned"] = time.perf_counter() - started
        if runner is not None:
            runner.close()
        for process in reversed(processes):
            process.stop()


def _task_env(settings: DemoSettings):
    """An in-process ReacherEnv or PushEnv with sim_node's settings: same pairs, same criterion."""
    from ..sim.sim_tasks import make_env

    return make_env(settings.robot)


def _describe_pairs(settings: DemoSettings, result: DemoResult) -> None:
    """The start and goal poses of every pair (resets only, no rendering of episodes), for the report."""
    env = _task_env(settings)
    try:
        # Pushing, the block's position tolerance (the report states its angle tolerance from the config).
        robot = settings.robot
        result.success_radius_m = robot.position_tolerance if settings.task == "push" else env.success_radius
        result.pairs = describe_pairs(env, settings.seeds)
    finally:
        env.close()


def _run_baselines(settings: DemoSettings, model: ModelInfo, result: DemoResult, progress: Progress) -> None:
    from ..world_model.folder import load_state_probe
    from .oracle_planner import OraclePlanner
    from .random_policy import RandomPolicy
    from .sim_episodes import run_sim_episode

    env = _task_env(settings)
    low, high = settings.action_bounds()
    policies = []
    if settings.run_random:
        policies.append(RandomPolicy(low, high))
    if settings.run_oracle:
        config = settings.planner_node.planner
        probe = load_state_probe(model.path) if probe_weights_set(config) else None
        policies.append(
            OraclePlanner(config, model.image_size, low, high, settings.velocity_limit, state_probe=probe)
        )
    try:
        for policy in policies:
            started = time.perf_counter()
            result.ran[policy.name] = True
            try:
                for index, seed in enumerate(settings.seeds):
                    record = run_sim_episode(env, policy, index, seed, settings.max_steps)
                    result.episodes[policy.name].append(record)
                    progress(_episode_line(record, settings))
            finally:
                result.timings_s[policy.name] = time.perf_counter() - started
    finally:
        env.close()


def _episode_line(record: EpisodeRecord, settings: DemoSettings) -> str:
    outcome = f"success in {record.success_step} steps" if record.success else f"no success in {record.steps}"
    angle = record.final_angle_error
    angle = "" if angle is None else f", angle error {math.degrees(angle):.0f} deg"
    return (
        f"{record.policy} episode {record.index + 1}/{settings.episodes} (seed {record.seed}): {outcome}, "
        f"final distance {100 * record.final_distance:.1f} cm{angle}, {record.wall_s:.1f} s"
    )
