"""The demo's report in --out: report.json, report.md, a GIF per episode and a plot.

Written from whatever the run holds, so a run stopped by a fault or Ctrl-C still reports the episodes
it completed, and says why it stopped.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from ..sim.push_scene import CAMERA_SPAN, HALF_WIDTH
from .demo_result import DemoResult
from .episode_gif import write_episode_gif
from .episode_record import POLICIES
from .start_goal_pairs import flip_breakdown, turn_breakdown
from .success_plot import write_plot

CRITERION = (
    "the dm_control reacher criterion: fingertip-to-target distance <= target radius + fingertip radius "
    "({radius}), reached within {steps} control {unit} of {period} s; an episode ends at its first success"
)
PUSH_CRITERION = (
    "the block's centre within {position:g} m of the goal's and its yaw within {angle:g} degrees "
    "(position_tolerance, angle_tolerance; where the pusher ends is not judged), reached within {steps} "
    "control {unit} of {period} s; an episode ends at its first success"
)
# What the step budget counts: the lockstep sim's steps, or the realtime sim's periods of motion.
BUDGET_UNIT = {False: "steps", True: "periods of commanded motion (the world keeps running while the "
               "planner thinks)"}
REALTIME_LEARNED = (
    "planner_node with the learned model, driving sim_node over ROS 2 in real time (the sim's physics "
    "runs on the wall clock whatever the planner does; the planner plays its plans one action per "
    "control period)"
)
WHERE = {
    "learned": "planner_node with the learned model, driving sim_node over ROS 2 (lockstep: the sim waits "
    "for each command, so planning time costs no simulated time)",
    "random": "uniform random joint velocities within the action bounds, in-process on ReacherEnv",
    "oracle": "the same CEM planner and cost terms with the simulator as the model (each candidate rolled "
    "out in MuJoCo, its final frame rendered and scored at the model's resolution), in-process on ReacherEnv",
}
PUSH_WHERE = {
    "learned": WHERE["learned"],
    "random": "uniform random pusher velocities within the action bounds, in-process on PushEnv",
    "oracle": WHERE["oracle"].replace("ReacherEnv", "PushEnv"),
}
TITLES = {"reacher": "simulated reacher", "push": "simulated pushing"}


GOALS = {
    "random": "a random pose drawn independently of the start (--goals random)",
    "exploration": "the pose the data-collection policy reaches from the start in {steps} steps (--goals "
    "exploration: DINO-WM's protocol, whose Reacher goals are the state 25 dataset actions after a "
    "dataset state)",
}
PUSH_GOALS = {
    "random": "a random block pose drawn independently of the start, with the pusher beside it (--goals "
    "random)",
    "exploration": "the block pose (and pusher position) the data-collection policy reaches from the start "
    "in {steps} steps (--goals exploration: DINO-WM's protocol, whose PushT goals are the state 25 steps "
    "on along a dataset trajectory)",
}


# The plot's curve title and threshold label per task (the push task's distance is the block's centre's).
REACHER_PLOT = ("mean distance to target (m) per step", "success radius")
PUSH_PLOT = ("mean block distance to goal (m) per step", "position tolerance")

def summary(result: DemoResult, files: dict | None = None) -> dict:
    """The report as one JSON-friendly dict (also what --json prints)."""
    settings = result.settings
    seeds = settings.seeds
    attempted = max((len(result.episodes[p]) for p in POLICIES), default=0)
    push = settings.task == "push"
    where = PUSH_WHERE if push else WHERE
    return {
        "task": settings.task,
        "status": result.status,
        "error": result.error,
        "success_rate": result.success_rate("learned"),
        "random_success_rate": result.success_rate("random"),
        "oracle_success_rate": result.success_rate("oracle"),
        "success_rate_ci95": {p: result.interval(p) for p in POLICIES},
        "learned_vs_oracle": _ratio(result.success_rate("learned"), result.success_rate("oracle")),
        "episodes_completed": {p: len(result.episodes[p]) for p in POLICIES},
        "episodes_requested": settings.episodes,
        "episodes": [
            {
                "index": i,
                "seed": seeds[i],
                "pair": result.pairs[seeds[i]].as_dict() if seeds[i] in result.pairs else None,
                **{
                    p: result.episodes[p][i].as_dict() if i < len(result.episodes[p]) else None
                    for p in POLICIES
                },
            }
            for i in range(attempted)
        ],
        "success_criterion": success_criterion(result),
        "goals": (PUSH_GOALS if push else GOALS)[settings.goal_source].format(steps=settings.goal_steps),
        "policies": {
            p: (REALTIME_LEARNED if settings.realtime and p == "learned" else where[p])
            if result.ran[p] else "not run"
            for p in POLICIES
        },
        "decision_latency": {p: result.latency(p) for p in POLICIES},
        "timings_s": {k: round(v, 2) for k, v in result.timings_s.items()},
        "settings": settings.as_dict(),
        "model": {
            "path": str(result.model.path),
            "image_size": list(result.model.image_size),
            "action_dim": result.model.action_dim,
            "max_frames": result.model.max_frames,
        },
        "realtime": realtime_figures(result),
        "limits": limits(result),
        "files": files or {},
    }


def success_criterion(result: DemoResult) -> str:
    settings = result.settings
    unit = BUDGET_UNIT[settings.realtime]
    budget = {"steps": settings.max_steps, "period": settings.control_period, "unit": unit}
    if settings.task == "push":
        robot = settings.robot
        return PUSH_CRITERION.format(position=robot.position_tolerance, angle=robot.angle_tolerance, **budget)
    radius = "unknown" if result.success_radius_m is None else f"{result.success_radius_m:.3f} m"
    return CRITERION.format(radius=radius, **budget)


def realtime_figures(result: DemoResult) -> dict | None:
    """In real time (the sim does not wait): how the learned planner's episodes ran on the clock."""
    if not result.settings.realtime:
        return None
    records = result.episodes["learned"]
    times = [r.time_to_success_s for r in records if r.time_to_success_s]
    in_force = [r.longest_command_s for r in records if r.longest_command_s is not None]
    motion = [r.motion_steps for r in records if r.success]
    return {
        "execution": result.settings.planner_node.execution,
        "execute_steps": result.settings.planner_node.execute_steps,
        "control_period_s": result.settings.control_period,
        "motion_budget_steps": result.settings.max_steps,
        "median_time_to_success_s": round(statistics.median(times), 3) if times else None,
        "longest_command_in_force_s": round(max(in_force), 4) if in_force else None,
        "decisions": sum(len(r.latencies_s) for r in records),
        "median_motion_steps_to_success": statistics.median(motion) if motion else None,
    }


def _ratio(value: float | None, reference: float | None) -> float | None:
    return None if value is None or not reference else round(value / reference, 4)


def limits(result: DemoResult) -> list[str]:
    """What limits the figures, in sentences generated from this run."""
    settings = result.settings
    planner = settings.planner_node.planner
    notes = []
    for policy in POLICIES:
        interval = result.interval(policy)
        if interval is not None:
            n = len(result.episodes[policy])
            notes.append(
                f"{policy}: {n} start/goal pairs; the 95% interval of its success rate is "
                f"[{interval[0]:.2f}, {interval[1]:.2f}] (Wilson)."
            )
    learned = result.interval("learned")
    for other in ("random", "oracle"):
        interval = result.interval(other)
        if learned and interval and learned[0] <= interval[1] and interval[0] <= learned[1]:
            notes.append(
                f"The learned and {other} intervals overlap: {len(result.episodes['learned'])} pairs cannot "
                "tell their success rates apart."
            )
    reference = "PushT figure (0.90)" if settings.task == "push" else "Reacher figure (0.92)"
    notes.append(
        f"Planner: CEM with population {planner.population}, elites {planner.elites}, "
        f"{planner.iterations} iterations, horizon {planner.horizon}, "
        f"{planner.denoise_steps} denoising steps: chosen so that a run fits on 2 CPU cores; "
        f"DINO-WM's {reference} used 300 candidates, 30 elites and 30 iterations on a GPU."
    )
    if settings.task == "push":
        notes.extend(_push_pair_notes(result))
    else:
        notes.extend(_pair_notes(result, planner.horizon, planner.probe_weight))
    latency = result.latency("learned")
    if latency is not None:
        notes.append(
            f"A learned decision took {latency['median_s']:.2f} s (median of {latency['decisions']}) "
            "on this machine, which is what bounds the planner settings and the episode count."
        )
    notes.extend(_push_scale_notes(result) if settings.task == "push" else _reacher_scale_notes(result))
    if result.status != "complete":
        notes.append(f"The run stopped early ({result.status}): only completed episodes are counted.")
    return notes


def _reacher_scale_notes(result: DemoResult) -> list[str]:
    settings = result.settings
    height, width = result.model.image_size
    return [
        f"The world model sees {height}x{width} px frames: the fingertip and target are a few pixels wide, "
        "so the image cost is coarse near the goal (the oracle's rate shows what the cost and planner "
        "allow with a perfect model).",
        f"Budget: {settings.max_steps} steps of {settings.control_period} s; a full shoulder sweep takes "
        f"~{round(3.1416 / (settings.velocity_limit * settings.control_period))} steps at the "
        f"{settings.velocity_limit:g} rad/s limit.",
    ]


def _push_scale_notes(result: DemoResult) -> list[str]:
    settings = result.settings
    height, width = result.model.image_size
    tolerance = settings.robot.position_tolerance
    step = settings.velocity_limit * settings.control_period
    return [
        f"The world model sees {height}x{width} px frames of the {CAMERA_SPAN:g} m the camera shows: the "
        f"{100 * tolerance:g} cm position tolerance is {tolerance / CAMERA_SPAN * width:.1f} px there, and "
        "the costs read the block's pose off such frames (the oracle's rate shows what the cost and planner "
        "allow with a perfect model).",
        f"Budget: {settings.max_steps} steps of {settings.control_period} s; the pusher moves at most "
        f"{100 * step:.0f} cm a step at the {settings.velocity_limit:g} m/s limit, and crosses the "
        f"{2 * HALF_WIDTH:g} m table in ~{round(2 * HALF_WIDTH / step)} steps.",
    ]


def _push_pair_notes(result: DemoResult) -> list[str]:
    """How far the goals move and turn the block, and how each policy did on the pairs that need a turn."""
    if not result.pairs:
        return []
    tolerance = math.radians(result.settings.robot.angle_tolerance)
    pairs = result.pairs.values()
    travel = statistics.median(pair.travel for pair in pairs)
    turn = math.degrees(statistics.median(pair.turn for pair in pairs))
    turns = sum(pair.turn > tolerance for pair in pairs)
    note = (
        f"The goals move the block {100 * travel:.1f} cm and turn it {turn:.0f} degrees (medians over "
        f"{len(result.pairs)} pairs); {turns} of them turn it by more than the angle tolerance"
    )
    parts = []
    for policy in POLICIES:
        records = result.episodes[policy]
        if records:
            outcomes = {record.seed: record.success for record in records}
            counts = turn_breakdown(result.pairs, outcomes, tolerance)
            (turn_wins, turned), (slide_wins, slid) = counts["turn"], counts["slide"]
            parts.append(f"{policy} {turn_wins}/{turned} there and {slide_wins}/{slid} on the rest")
    return [f"{note}: {'; '.join(parts)}." if parts else f"{note}."]


def _pair_notes(result: DemoResult, horizon: int | None, probe_weight: float) -> list[str]:
    """How each policy did on the pairs whose goal folds the elbow the other way, and on the rest."""
    parts = []
    for policy in POLICIES:
        records = result.episodes[policy]
        if records and result.pairs:
            counts = flip_breakdown(result.pairs, {record.seed: record.success for record in records})
            (flip_wins, flips), (same_wins, sames) = counts["elbow_flip"], counts["same_fold"]
            parts.append(f"{policy} {flip_wins}/{flips} there and {same_wins}/{sames} on the rest")
    if not parts:
        return []
    flips = sum(pair.elbow_flip for pair in result.pairs.values())
    counted = (
        f"{flips} of the {len(result.pairs)} pairs have the goal's elbow folded the other way from the "
        f"start's (wrist angles of opposite sign): {'; '.join(parts)}."
    )
    if probe_weight > 0:
        return [
            f"{counted} The planner scored plans by the joints the state probe reads off the imagined "
            f"frames (planner.probe_weight {probe_weight:g}): a distance that falls the whole way to the "
            "goal, where the image distance alone has a local minimum on these pairs (straightening the "
            "elbow first takes the arm away from the goal image)."
        ]
    return [
        f"{counted} The image cost asks for the pictured pose, and reaching it means straightening the elbow "
        "first, which takes the arm away from the goal image before it comes closer: a local minimum that a "
        f"{horizon}-step lookahead often does not see past, even with a perfect model (the oracle's figure "
        "there). The task's criterion would accept the mirrored pose, which the goal image does not show."
    ]


def markdown(report: dict) -> str:
    rates = [
        ("learned (ROS 2)", report["success_rate"], "learned"),
        ("random", report["random_success_rate"], "random"),
        ("oracle", report["oracle_success_rate"], "oracle"),
    ]
    push = report.get("task") == "push"
    lines = [f"# vid2world demo: {TITLES[report.get('task', 'reacher')]}", ""]
    lines.append(f"Status: **{report['status']}**" + (f": {report['error']}" if report["error"] else ""))
    lines += ["", "| policy | success rate | 95% interval | episodes | median decision |"]
    lines += ["|---|---|---|---|---|"]
    for label, rate, policy in rates:
        interval = report["success_rate_ci95"][policy]
        latency = report["decision_latency"][policy]
        cells = [
            label,
            "not run" if rate is None else f"{rate:.2f}",
            "-" if interval is None else f"{interval[0]:.2f} - {interval[1]:.2f}",
            str(report["episodes_completed"][policy]),
            "-" if latency is None else f"{latency['median_s']:.3f} s",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Success: {report['success_criterion']}.", f"Goal of each pair: {report['goals']}.", ""]
    realtime = report.get("realtime")
    if realtime:
        lines += [
            f"**Real time** (sim_node `mode: realtime`: the world moves on the wall clock while the planner "
            f"thinks; execution `{realtime['execution']}`, {realtime['execute_steps']} action(s) per "
            f"decision in hold_while_planning; budget: {realtime['motion_budget_steps']} control periods "
            f"of commanded motion): median time to success {realtime['median_time_to_success_s']} s, "
            f"{realtime['decisions']} decisions, the longest any command stayed in force at the robot "
            f"{realtime['longest_command_in_force_s']} s (control period {realtime['control_period_s']} s).",
            "",
        ]
    lines += [f"- **{p}**: {where}" for p, where in report["policies"].items()]
    lines += ["", "## Episodes", ""] + (_push_episode_table(report) if push else _episode_table(report))
    files = report["files"]
    if files.get("plot"):
        lines += ["", f"![success rates and distances]({files['plot']})"]
    if files.get("gifs"):
        links = ", ".join(f"[{gif}]({gif})" for gif in files["gifs"])
        lines += ["", f"GIFs (camera | imagined plan | goal): {links}"]
    lines += ["", "## Settings", "", "```json", json.dumps(report["settings"], indent=2), "```"]
    lines += ["", "## Timings", ""]
    lines += [f"- {name}: {seconds:.1f} s" for name, seconds in report["timings_s"].items()]
    lines += ["", "## What limits these figures", ""]
    lines += [f"- {note}" for note in report["limits"]]
    return "\n".join(lines) + "\n"


def _episode_table(report: dict) -> list[str]:
    lines = ["Steps to success (or the budget), final distance in cm.", ""]
    lines += ["| # | seed | elbow flip | learned | random | oracle |", "|---|---|---|---|---|---|"]
    for episode in report["episodes"]:
        pair = episode["pair"]
        cells = ["-" if pair is None else ("yes" if pair["elbow_flip"] else "")]
        cells += [_outcome_cell(episode[policy]) for policy in POLICIES]
        lines.append(f"| {episode['index'] + 1} | {episode['seed']} | " + " | ".join(cells) + " |")
    return lines


def _push_episode_table(report: dict) -> list[str]:
    lines = [
        "Steps to success (or the budget), the block's final position error in cm and angle error in "
        "degrees; its start and goal poses (x, y in cm, yaw in degrees).",
        "",
        "| # | seed | block start | block goal | learned | random | oracle |",
        "|---|---|---|---|---|---|---|",
    ]

    def pose(values: dict) -> str:
        return f"({100 * values['x_m']:.1f}, {100 * values['y_m']:.1f}, {values['yaw_deg']:.0f})"

    for episode in report["episodes"]:
        pair = episode["pair"]
        poses = ["-", "-"] if pair is None else [pair["start_block_pose"], pair["goal_block_pose"]]
        cells = [value if value == "-" else pose(value) for value in poses]
        cells += [_outcome_cell(episode[policy]) for policy in POLICIES]
        lines.append(f"| {episode['index'] + 1} | {episode['seed']} | " + " | ".join(cells) + " |")
    return lines


def _outcome_cell(outcome: dict | None) -> str:
    """"success in 3, 1.2 cm" (pushing: ", 5 deg" after it), "fail (25), ..." or "-" (not run)."""
    if outcome is None:
        return "-"
    steps = outcome["steps"]
    verdict = f"success in {steps}" if outcome["success"] else f"fail ({steps})"
    cell = f"{verdict}, {100 * outcome['final_distance_m']:.1f} cm"
    angle = outcome.get("final_angle_error_deg")
    return cell if angle is None else f"{cell}, {angle:.0f} deg"


def write_report(result: DemoResult, out: Path) -> dict:
    """report.json, report.md, gifs/<policy>_<episode>.gif and success.png in `out`; the summary."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "gifs").mkdir(exist_ok=True)
    gifs = []
    for policy in POLICIES:
        for record in result.episodes[policy]:
            if not record.frames:
                continue  # nothing was recorded frame by frame (a real-time run)
            name = f"gifs/{policy}_{record.index + 1:02d}.gif"
            write_episode_gif(record, out / name)
            gifs.append(name)
    plot = write_plot(
        {p: result.success_rate(p) for p in POLICIES},
        {p: [r.distances for r in result.episodes[p]] for p in POLICIES},
        result.settings.max_steps,
        result.success_radius_m,
        out / "success.png",
        PUSH_PLOT if result.settings.task == "push" else REACHER_PLOT,
    )
    files = {"report_json": "report.json", "report_md": "report.md", "plot": plot.name, "gifs": gifs}
    report = summary(result, files)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report))
    return report
