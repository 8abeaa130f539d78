"""The kinds of recipe step: each stands for one command, takes that command's settings, writes one folder.

collect    `vid2world collect`        {episodes, steps, size, seed, storage, ...ReacherConfig}, or with
           `domain` (and task, camera, frame_period): another domain's action-free video dataset
dataset    `vid2world dataset`        {bags: [...], size: HxW, image_topic, joint_topic, action_topic, ...}
pretrain   `vid2world train --steps 0` stage (a) only: TrainConfig settings; writes the base U-Net
causalize  the base made a world model {base, data (for action statistics and timing), weight_transfer,
           prediction_type, max_frames, embedding_scale, action_init: zero | random, seed}
finer_patches  a pixel-space model moved to images `factor` times larger {model, factor}: the same grid
           in wider patches, first and last layers transferred (world_model/finer_patches.py)
train      `vid2world train`          TrainConfig settings (base or init, stop_at, ...); `continue: "@step"`
           goes on with that step's run (its checkpoints, a longer schedule), as `--resume` would
probe      `vid2world probe`          {model, data, ...ProbeTrainConfig}: the model with a state probe
eval_bag   `vid2world eval-bag`       {bags | dataset, model, topics, ...OpenLoopConfig}: a report folder
demo       `vid2world demo`           {model, episodes, max_steps, seed, goals, planner: {...}, sim: {...}}
export_onnx `vid2world export-onnx`   {model, opset, int8, data, ...CalibrationConfig}: a folder with
           denoiser.onnx (and denoiser.int8.onnx); a demo's planner reads "@step/denoiser.int8.onnx"
table      the rows' reports (eval_bag and demo steps) in one markdown table (table.md, copy_to)
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

STEP_KINDS: dict[str, Callable] = {}


def step_kind(function: Callable) -> Callable:
    STEP_KINDS[function.__name__.removeprefix("run_")] = function
    return function


def checked(cls: type, settings: dict, where: str, own: tuple[str, ...] = (), **fixed):
    """An instance of the config dataclass `cls` from a step's settings (its fields, but for those the
    recipe sets: `fixed`); unknown keys are refused (a misspelt setting silently keeping its default
    would make another model). `own`: the step's keys that are not the config's."""
    names = {f.name for f in dataclasses.fields(cls)} - set(fixed)
    unknown = sorted(set(settings) - names - set(own))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {sorted(names | set(own))}.")
    try:
        return cls(**{k: v for k, v in settings.items() if k in names}, **fixed)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _size(text, where: str) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        height, width = (int(part) for part in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"{where}: `size` must be HEIGHTxWIDTH, e.g. 32x32. Got {text!r}.") from None
    return height, width


@step_kind
def run_collect(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..sim.collect import collect
    from ..sim.push_config import PushConfig
    from ..sim.reacher_config import ReacherConfig
    from ..sim.sim_tasks import task_config

    if "domain" in settings:
        return _domain_video(settings, out, where, check_only)
    own = ("episodes", "steps", "storage")
    values = {("image_size" if k == "size" else k): v for k, v in settings.items()}
    known = {f.name for cls in (ReacherConfig, PushConfig) for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known - set(own))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {sorted(known | set(own))}.")
    try:
        config = task_config(values)  # the reacher's, or the push task's
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    for key in ("episodes", "steps"):
        if isinstance(settings.get(key), bool) or not isinstance(settings.get(key), int) or settings[key] < 1:
            raise ValueError(f"{where}: `{key}` must be a positive integer. Got {settings.get(key)!r}.")
    if check_only:
        return {}
    summary = collect(
        out, episodes=settings.get("episodes", 0), steps=settings.get("steps", 0), config=config,
        storage=settings.get("storage", "sqlite3"), force=True,
    )
    return summary.as_dict()


@step_kind
def run_dataset(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..bags.bag_episodes import EpisodeOptions
    from ..bags.dataset_from_bags import dataset_from_bags

    fields = {f.name for f in dataclasses.fields(EpisodeOptions)}
    unknown = sorted(set(settings) - fields - {"bags"})
    if unknown or not settings.get("bags"):
        raise ValueError(f"{where}: needs `bags` and takes {sorted(fields)}; unknown: {unknown}.")
    options = dict(settings, size=_size(settings.get("size"), where))
    options.pop("bags")
    try:
        episode_options = EpisodeOptions(**options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    if check_only:
        return {}
    return dataset_from_bags([Path(b) for b in settings["bags"]], out, episode_options)


@step_kind
def run_pretrain(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..training import train
    from ..training.train_config import TrainConfig

    config = checked(TrainConfig, settings, where, out=out, steps=0, work_dir=_work_dir(out))
    if check_only:
        return {}
    summary = train(config, resume=_has_run(out), force=not _has_run(out))
    _replace(Path(summary["out"]), out)
    return summary


@step_kind
def run_causalize(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    import torch

    from ..dataset import EpisodeDataset
    from ..training.trainer import model_codec, model_timing
    from ..world_model.base_pipeline import load_base
    from ..world_model.causalization import folder_from_base

    own = (
        "base", "data", "weight_transfer", "prediction_type", "max_frames", "embedding_scale", "action_init",
        "seed",
    )
    unknown = sorted(set(settings) - set(own))
    if unknown or "base" not in settings or "data" not in settings:
        raise ValueError(f"{where}: needs `base` and `data`, takes {list(own)}; unknown: {unknown}.")
    if settings.get("action_init", "zero") not in ("zero", "random"):
        got = settings["action_init"]
        raise ValueError(f"{where}: `action_init` must be one of ['zero', 'random']. Got {got!r}.")
    if check_only:
        return {}
    dataset = EpisodeDataset(settings["data"])
    base = load_base(settings["base"])
    patch = 1 if base.vae is not None else model_codec(base.unet.config, dataset).patch_size
    named = ("weight_transfer", "prediction_type", "max_frames", "embedding_scale")
    options = {k: settings[k] for k in named if k in settings}
    folder = folder_from_base(
        base, action_dim=dataset.action_dim, patch_size=patch, action_stats=dataset.action_stats,
        **model_timing(dataset, None), **options,
    )
    if settings.get("action_init") == "random":  # a random last action layer instead of zeros
        torch.manual_seed(int(settings.get("seed", 0)))
        folder.model.action_embedding.mlp[-1].reset_parameters()
    folder.save(out)
    return {"out": str(out), "parameters": sum(p.numel() for p in folder.model.parameters())}


@step_kind
def run_finer_patches(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..world_model.finer_patches import finer_patches
    from ..world_model.folder import WorldModelFolder

    unknown = sorted(set(settings) - {"model", "factor"})
    if unknown or "model" not in settings or "factor" not in settings:
        raise ValueError(f"{where}: needs `model` and `factor` (an integer >= 2); unknown: {unknown}.")
    factor = settings["factor"]
    if not isinstance(factor, int) or isinstance(factor, bool) or factor < 2:
        raise ValueError(f"{where}: `factor` must be an integer >= 2. Got {factor!r}.")
    if check_only:
        return {}
    try:
        folder = finer_patches(WorldModelFolder.load(settings["model"]), factor)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    folder.save(out)
    return {"out": str(out), "image_size": list(folder.image_size), "patch_size": folder.patch_size}


@step_kind
def run_train(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..training import train
    from ..training.train_config import TrainConfig

    previous = settings.get("continue")
    config = checked(TrainConfig, settings, where, own=("continue",), out=out, work_dir=_work_dir(out))
    if check_only:
        return {}
    if previous is not None and not _has_run(out):
        # Go on with that step's run: its checkpoints (and settings) continue under a longer schedule.
        shutil.copytree(_work_dir(Path(previous)), _work_dir(out), dirs_exist_ok=True)
    return train(config, resume=_has_run(out), force=not _has_run(out))


@step_kind
def run_probe(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..dataset import EpisodeDataset
    from ..training.probe_train_config import ProbeTrainConfig
    from ..training.state_probe_training import train_state_probe
    from ..world_model.folder import WorldModelFolder, save_state_probe

    own = ("model", "data", "linear_joints")
    probe_settings = {k: v for k, v in settings.items() if k not in own}
    config = checked(ProbeTrainConfig, probe_settings, where, own=own)
    linear = settings.get("linear_joints", [])
    if not isinstance(linear, list) or not all(isinstance(name, str) for name in linear):
        raise ValueError(f"{where}: `linear_joints` must be a list of joint names. Got {linear!r}.")
    if "model" not in settings or "data" not in settings:
        raise ValueError(f"{where}: needs `model` and `data`.")
    if check_only:
        return {}
    _replace(Path(settings["model"]), out)
    folder = WorldModelFolder.load(out)  # a model, before minutes of training
    dataset = EpisodeDataset(settings["data"])
    names = list(dataset.manifest.get("joint_names") or [])
    probe, summary = train_state_probe(dataset, config, names, linear_joints=linear, folder=folder)
    summary["out"] = str(save_state_probe(out, probe))
    return summary


@step_kind
def run_eval_bag(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    from ..bags.bag_episodes import EpisodeOptions
    from ..bags.bag_evaluation import evaluate_bag, evaluate_dataset
    from ..bags.open_loop_eval import OpenLoopConfig

    options = {k: v for k, v in settings.items() if k in {f.name for f in dataclasses.fields(EpisodeOptions)}}
    open_loop = checked(OpenLoopConfig, {k: v for k, v in settings.items() if k not in options}, where,
                        own=("bags", "dataset", "model", "planner_starts"))
    starts = int(settings.get("planner_starts", 0))
    if ("dataset" in settings) == bool(settings.get("bags")) or "model" not in settings:
        raise ValueError(f"{where}: needs `model` and one of `bags` or `dataset`.")
    if check_only:
        return {}
    if "dataset" in settings:
        return evaluate_dataset(settings["dataset"], settings["model"], out, open_loop, planner_starts=starts)
    try:
        episode_options = EpisodeOptions(**options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None
    bags = [Path(b) for b in settings.get("bags", [])]
    return evaluate_bag(bags, settings["model"], out, episode_options, open_loop, planner_starts=starts)


def _domain_video(settings: dict, out: Path, where: str, check_only: bool) -> dict:
    from ..sim.domain_video import domain_environment, record_domain_video

    keys = ("domain", "task", "episodes", "steps", "size", "camera", "seed", "frame_period")
    unknown = sorted(set(settings) - set(keys))
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {unknown}; known: {list(keys)}.")
    values = {"task": None, "size": 64, "camera": 0, "seed": 0, "frame_period": 0.1, **settings}
    try:
        if check_only:
            domain_environment(*(values.get(k) for k in keys))
            return {}
        values.pop("domain")
        return record_domain_video(out, settings["domain"], **values)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


def _work_dir(out: Path) -> Path:
    return out.parent / f"{out.name}.training"


def _has_run(out: Path) -> bool:
    return (_work_dir(out) / "checkpoints" / "latest").is_file()


def _replace(source: Path, target: Path) -> None:
    """`target` becomes a copy of the folder `source` (atomically: staged beside it, then renamed)."""
    from ..world_model.folder import replace_folder

    staging = target.parent / f".{target.name}.staging"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging)
    replace_folder(staging, target)


@step_kind
def run_demo(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    """Closed loop on the simulated reacher: {model, episodes, max_steps, seed, goals, config (default
    the shipped config/demo.yaml), planner: {node parameters}, sim: {node parameters}, random, oracle}."""
    import yaml

    from ..demo.demo_run import run_demo as demo
    from ..demo.demo_settings import PLANNER_NODE, SIM_NODE, DemoSettings, find_shared

    own = ("model", "episodes", "max_steps", "seed", "goals", "config", "planner", "sim", "random", "oracle")
    unknown = sorted(set(settings) - set(own))
    if unknown or "model" not in settings:
        raise ValueError(f"{where}: needs `model`, takes {list(own)}; unknown: {unknown}.")
    config = settings.get("config") or find_shared("config/demo.yaml")
    if config is None:
        raise ValueError(f"{where}: the shipped config/demo.yaml was not found; set `config`.")
    document = yaml.safe_load(Path(config).read_text())
    for node, key in ((PLANNER_NODE, "planner"), (SIM_NODE, "sim")):
        document[node]["ros__parameters"].update(settings.get(key) or {})
    if settings.get("goals"):
        document[SIM_NODE]["ros__parameters"]["goal_source"] = settings["goals"]
    # The nodes read their parameters from a file: the shipped one with this step's overrides (a
    # temporary one while the recipe is only being checked: nothing is written then).
    folder = Path(tempfile.mkdtemp()) if check_only else out.parent
    folder.mkdir(parents=True, exist_ok=True)
    step_config = folder / f"{out.name}.config.yaml"
    step_config.write_text(yaml.safe_dump(document, sort_keys=False))
    values = {k: settings[k] for k in ("episodes", "max_steps", "seed") if k in settings}
    try:
        demo_settings = DemoSettings.from_config(
            step_config, model_path=Path(settings["model"]), out=out, **values,
            run_random=bool(settings.get("random", False)), run_oracle=bool(settings.get("oracle", False)),
        )
        demo_settings.planner_node  # noqa: B018 - the planner's settings checked before anything runs
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None
    finally:
        if check_only:
            shutil.rmtree(folder, ignore_errors=True)
    if check_only:
        return {}
    result = demo(demo_settings)
    if result.status != "complete":
        raise ValueError(f"{where}: the demo stopped: {result.error}")

    return json.loads((out / "report.json").read_text())


@step_kind
def run_export_onnx(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    """The model's denoiser for ONNX Runtime (fp32, and int8 calibrated on `data` with `int8: true`),
    written by `vid2world export-onnx` itself: the same checks, the same files."""
    from ..planning.calibration_config import CalibrationConfig

    own = ("model", "opset", "int8", "data")
    calibration = {k: v for k, v in settings.items() if k not in own}
    checked(CalibrationConfig, calibration, where, own=own)
    if "model" not in settings or bool(settings.get("int8")) != ("data" in settings):
        raise ValueError(f"{where}: needs `model`, and `data` exactly when `int8` is true.")
    if check_only:
        return {}
    import subprocess
    import sys

    from ..world_model.folder import replace_folder

    staging = out.parent / f".{out.name}.writing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    argv = ["export-onnx", "--model", str(settings["model"]), "--out", str(staging / "denoiser.onnx")]
    if "opset" in settings:
        argv += ["--opset", str(settings["opset"])]
    if settings.get("int8"):
        argv += ["--int8", "--data", str(settings["data"]), "--int8-out", str(staging / "denoiser.int8.onnx")]
        for name, value in calibration.items():
            argv += [f"--{name.replace('_', '-')}", str(value)]
    # The command in a process of its own (the CLI imports the recipe runner: no import cycle).
    done = subprocess.run([sys.executable, "-m", "ros2_vid2world.cli", *argv], capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:]
        raise ValueError(f"{where}: vid2world export-onnx failed (exit {done.returncode}): {' '.join(last)}")
    replace_folder(staging, out)
    return {"out": str(out), "files": sorted(p.name for p in out.iterdir()), "printed": done.stdout}


@step_kind
def run_table(settings: dict, out: Path, where: str, check_only: bool = False) -> dict:
    """One table of evaluations: {rows: {label: "@eval_bag or demo step"}, copy_to: FILE.md,
    plot_to: FILE.png}. Writes table.md and table.json: per row, PSNR and SSIM per imagined step, with
    shuffled actions when measured, and closed-loop success for demo rows; with demo rows, frontier.png
    (success against median decision, `frontier_plot`), also copied to `plot_to`."""

    rows = settings.get("rows")
    unknown = sorted(set(settings) - {"rows", "copy_to", "title", "plot_to"})
    if not isinstance(rows, dict) or not rows or unknown:
        raise ValueError(
            f"{where}: needs `rows` (label: step), takes `copy_to`, `plot_to`, `title`; got {unknown}."
        )
    if check_only:
        return {}
    table = {label: json.loads((Path(path) / "report.json").read_text()) for label, path in rows.items()}
    text = _markdown_table(settings.get("title", "Evaluations"), table)
    points = _frontier_points(table)
    if settings.get("plot_to") and not points:
        raise ValueError(f"{where}: `plot_to` needs demo rows with a median decision time; there are none.")
    from ..world_model.folder import replace_folder

    staging = out.parent / f".{out.name}.writing"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    (staging / "table.md").write_text(text)
    (staging / "table.json").write_text(json.dumps(table, indent=2, default=str) + "\n")
    if points:
        from .frontier_plot import write_frontier_plot

        write_frontier_plot(points, staging / "frontier.png", settings.get("title", "Closed loop"))
    replace_folder(staging, out)
    if settings.get("copy_to"):
        Path(settings["copy_to"]).parent.mkdir(parents=True, exist_ok=True)
        Path(settings["copy_to"]).write_text(text)
    if settings.get("plot_to"):
        Path(settings["plot_to"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out / "frontier.png", settings["plot_to"])
    return {"rows": len(table), "out": str(out)}


def _frontier_points(table: dict) -> dict:
    """Per demo row with a learned median decision: (median s, success rate, its 95% interval)."""
    points = {}
    for label, report in table.items():
        median = ((report.get("decision_latency") or {}).get("learned") or {}).get("median_s")
        if "success_rate" in report and report["success_rate"] is not None and median is not None:
            interval = (report.get("success_rate_ci95") or {}).get("learned")
            points[label] = (median, report["success_rate"], tuple(interval) if interval else None)
    return points


def _markdown_table(title: str, table: dict) -> str:
    lines = [f"## {title}", ""]
    evals = {k: v for k, v in table.items() if "psnr" in v}
    if evals:
        steps = max(len(v["psnr"]) for v in evals.values())
        head = " | ".join(f"{i + 1}" for i in range(steps))
        lines += [f"| model | metric | {head} |", "|---|---|" + "---|" * steps]
        for label, report in evals.items():
            for key, name in (("psnr", "PSNR dB"), ("shuffled_actions_psnr", "PSNR, shuffled actions"),
                              ("ssim", "SSIM"), ("shuffled_actions_ssim", "SSIM, shuffled actions")):
                if key in report:
                    lines.append(f"| {label} | {name} | {_cells(report[key])} |")
        first = next(iter(evals.values()))
        lines.append(f"| copy last frame | PSNR dB | {_cells(first['copy_last_psnr'])} |")
        lines.append("")
    demos = {k: v for k, v in table.items() if "success_rate" in v}
    if demos:
        lines += ["| closed loop | success | episodes | median decision (s) | random | oracle |",
                  "|---|---|---|---|---|---|"]
        for label, report in demos.items():
            latency = (report.get("decision_latency") or {}).get("learned") or {}
            median = latency.get("median_s")
            episodes = report.get("episodes_completed")  # per policy in demo reports: the learned one's
            episodes = episodes.get("learned") if isinstance(episodes, dict) else episodes
            lines.append(
                f"| {label} | {_rate(report['success_rate'])} | {episodes} | "
                f"{'-' if median is None else f'{median:.2f}'} | "
                f"{_rate(report.get('random_success_rate'))} | {_rate(report.get('oracle_success_rate'))} |"
            )
    return "\n".join(lines) + "\n"


def _cells(values) -> str:
    return " | ".join(f"{v:.3f}" for v in values)


def _rate(value) -> str:
    return "-" if value is None else f"{value:.2f}"
