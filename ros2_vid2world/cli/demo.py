"""`vid2world demo`: the closed-loop simulated demo over ROS 2, with random and oracle baselines."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from ..demo.demo_settings import DEFAULT_EPISODES, DEMO_TASKS
from ..ros.node_config import EXECUTIONS
from ..sim.exploration import GOAL_SOURCES


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "demo",
        help="closed-loop demo: the planner node drives the simulated reacher (or pusher) over ROS 2",
        description="Starts sim_node (lockstep) and planner_node as separate processes on a ROS domain of "
        "their own, drives start/goal episodes over ROS 2, runs a random policy and the oracle (the same "
        "CEM planner with the simulator as the model) on the same pairs, and writes a report with a GIF "
        "per episode and a plot.",
    )
    parser.add_argument(
        "--task",
        help=f"the simulated task, one of {', '.join(DEMO_TASKS)}: picks the shipped config and model "
        "(default: the --config file's task, else reacher)",
    )
    parser.add_argument(
        "--model", type=Path, help="world-model folder (default: the task's shipped models/reacher or push)"
    )
    parser.add_argument("--episodes", type=int, default=DEFAULT_EPISODES, help="start/goal pairs")
    parser.add_argument(
        "--max-steps", type=int, help="control steps per episode (default: the config's sim max_steps; "
        "shipped: reacher 25, push 50)"
    )
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="report folder (demo_out)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the start/goal pairs")
    parser.add_argument(
        "--config",
        type=Path,
        help="parameters file for both nodes (default: the task's shipped config/demo.yaml or "
        "config/demo_push.yaml)",
    )
    parser.add_argument(
        "--goals",
        choices=GOAL_SOURCES,
        help="goal protocol (default: the config's sim goal_source, shipped: reacher random, push "
        "exploration): random poses, or where the data-collection policy takes the arm (the block) in "
        "--goal-steps steps (DINO-WM's protocol)",
    )
    parser.add_argument(
        "--goal-steps",
        type=int,
        help="exploration steps behind a goal with --goals exploration (default: the config's, shipped 25)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the sim in real time (the world moves while the planner thinks; budget: --max-steps "
        "control periods of commanded motion); the random and oracle baselines, which need no time, "
        "are not run",
    )
    parser.add_argument(
        "--execution",
        choices=EXECUTIONS,
        help="the planner's execution mode (default: the config's; shipped hold_while_planning)",
    )
    parser.add_argument(
        "--execute-steps",
        type=int,
        help="hold_while_planning: actions played per decision (default: the config's; shipped 1)",
    )
    parser.add_argument("--skip-oracle", action="store_true", help="do not run the oracle baseline")
    parser.add_argument("--skip-random", action="store_true", help="do not run the random baseline")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.set_defaults(run=run)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> int:
    from ..demo.demo_run import run_demo
    from ..demo.demo_settings import DemoSettings, config_task, shipped_config
    from ..demo.model_check import default_model_path

    if args.task is not None and args.task not in DEMO_TASKS:
        raise ValueError(f"--task must be one of {list(DEMO_TASKS)}. Got {args.task!r}.")
    config = args.config or shipped_config(args.task or "reacher")
    task = config_task(config)
    if args.task is not None and args.task != task:
        raise ValueError(f"--task {args.task} but --config {str(config)!r} is for the {task}.")
    goals = {"goal_source": args.goals, "goal_steps": args.goal_steps}
    execution = {"execution": args.execution, "execute_steps": args.execute_steps}
    settings = DemoSettings.from_config(
        config,
        sim_overrides={name: value for name, value in goals.items() if value is not None},
        planner_overrides={name: value for name, value in execution.items() if value is not None},
        realtime=args.realtime,
        model_path=args.model if args.model is not None else default_model_path(task),
        out=args.out,
        episodes=args.episodes,
        max_steps=args.max_steps,
        seed=args.seed,
        run_random=not (args.skip_random or args.realtime),
        run_oracle=not (args.skip_oracle or args.realtime),
    )

    def progress(line: str) -> None:
        print(f"vid2world demo: {line}", file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop the nodes and report, as on Ctrl-C
    try:
        result = run_demo(settings, progress)
    finally:
        signal.signal(signal.SIGTERM, previous)
    report = json.loads((settings.out / "report.json").read_text())
    if args.json:
        print(json.dumps(report))
    else:
        print(_summary_text(report, settings.out))
    if result.status != "complete":
        kept = report["episodes_completed"]["learned"]
        print(
            f"vid2world demo: error: {result.error}; stopped both nodes, kept {kept} completed episode(s) in "
            f"{settings.out / 'report.md'}",
            file=sys.stderr,
        )
        return 1
    return 0


def _summary_text(report: dict, out: Path) -> str:
    def rate(value):
        return "not run" if value is None else f"{value:.2f}"

    completed = report["episodes_completed"]
    return (
        f"success rate over {completed['learned']} episode(s): learned {rate(report['success_rate'])}, "
        f"random {rate(report['random_success_rate'])}, oracle {rate(report['oracle_success_rate'])}; "
        f"report in {out / 'report.md'}"
    )
