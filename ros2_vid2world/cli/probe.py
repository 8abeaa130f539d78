"""`vid2world probe`: train a world-model folder's state probe from a dataset's frames and joint positions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..settings import declared_settings
from ..training.probe_train_config import ProbeTrainConfig
from .setting_options import add_setting_options, from_args
from .torch_threads import set_torch_threads

PROBE_FLAGS = {"learning_rate": "lr"}


def joint_list(text: str) -> list[str]:
    """'shoulder,wrist' -> ['shoulder', 'wrist']; '' -> [] (no joint turns without limit)."""
    return [name.strip() for name in text.split(",") if name.strip()]


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "probe",
        help="train the state probe the planner's joint-space goal cost reads (planner.probe_weight)",
        description="Fit a small CNN that reads the joint positions off camera frames, from a dataset "
        "with recorded joint states, at the world model's image size; write it into the model folder "
        "as state_probe/ (atomically; the model is not rewritten). Prints its error on held-out episodes.",
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset folder with joint positions (`vid2world dataset`)"
    )
    parser.add_argument("--model", type=Path, required=True, help="world-model folder to add the probe to")
    add_setting_options(parser, ProbeTrainConfig, flags=PROBE_FLAGS)
    parser.add_argument(
        "--periodic-joints",
        type=joint_list,
        metavar="A,B",
        help="joints that turn without limit, comma-separated ('' for none); default: every joint whose "
        "recorded positions span nearly the full circle",
    )
    parser.add_argument(
        "--linear-joints",
        type=joint_list,
        default=[],
        metavar="A,B",
        help="joints that slide (positions in m, errors reported in mm), comma-separated; default: none",
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..dataset.store import EpisodeDataset
    from ..training.state_probe_training import train_state_probe
    from ..world_model.folder import WorldModelFolder, save_state_probe

    set_torch_threads(args.threads)
    config = from_args(ProbeTrainConfig, args, [d.name for d in declared_settings(ProbeTrainConfig)],
                       flags=PROBE_FLAGS)
    folder = WorldModelFolder.load(args.model)  # fails before training if the folder is not a model
    dataset = EpisodeDataset(args.data)
    if tuple(folder.image_size) != tuple(dataset.image_size):
        model_size = "x".join(map(str, folder.image_size))
        data_size = "x".join(map(str, dataset.image_size))
        raise ValueError(
            f"the model at {str(args.model)!r} sees {model_size} frames; the dataset has {data_size}: "
            f"rebuild it with `vid2world dataset --size {model_size}`."
        )
    joint_names = list(dataset.manifest.get("joint_names") or [])
    if not joint_names and dataset.joints.ndim == 2:
        joint_names = [f"joint_{index}" for index in range(dataset.joints.shape[1])]
    periodic = None
    if args.periodic_joints is not None:
        unknown = sorted(set(args.periodic_joints) - set(joint_names))
        if unknown:
            raise ValueError(f"--periodic-joints names {unknown}, not joints of the dataset ({joint_names}).")
        periodic = [name in args.periodic_joints for name in joint_names]

    def progress(step: int, loss: float) -> None:
        if not args.json:
            print(f"\rvid2world probe: step {step}/{config.steps} loss {loss:.4f}", end="", file=sys.stderr)

    probe, summary = train_state_probe(
        dataset, config, joint_names, periodic, progress, args.linear_joints, folder=folder
    )
    if not args.json:
        print(file=sys.stderr)
    summary["out"] = str(save_state_probe(args.model, probe))
    if args.json:
        print(json.dumps(summary))
    else:
        errors = []
        for unit, name in (("deg", "degrees"), ("mm", "millimetres")):
            median = summary.get(f"heldout_median_error_{unit}", {})
            p95 = summary.get(f"heldout_p95_error_{unit}", {})
            if median:
                listed = ", ".join(f"{state} {median[state]:.2f} (p95 {p95[state]:.2f})" for state in median)
                errors.append(f"{name}: {listed}")
        print(f"vid2world probe: wrote {summary['out']} in {summary['seconds']:.0f} s; held-out median "
              f"error, {'; '.join(errors)}")
        imagined = {**summary.get("heldout_imagined_median_error_mm", {}),
                    **summary.get("heldout_imagined_median_error_deg", {})}
        if imagined:
            units = {**{s: "mm" for s in summary.get("heldout_imagined_median_error_mm", {})},
                     **{s: "deg" for s in summary.get("heldout_imagined_median_error_deg", {})}}
            listed = ", ".join(f"{state} {value:.2f} {units[state]}" for state, value in imagined.items())
            print(f"  read off frames the model imagined from held-out episodes (median): {listed}")
    return 0
