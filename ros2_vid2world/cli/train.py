"""`vid2world train`: pre-train a video diffusion base on a dataset, then the Vid2World transfer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..settings import declared_settings
from ..training.train_config import TRAIN_FLAGS, TrainConfig
from .setting_options import add_setting_options, from_args
from .torch_threads import set_torch_threads

# Every TrainConfig setting is an option; the paths are the command's own arguments.
TRAINING_SETTINGS = [d.name for d in declared_settings(TrainConfig)]


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a world model from a dataset (runs under `accelerate launch` too)",
        description="Stage (a): action-free, bidirectional video diffusion on the dataset's video "
        "(skipped with --base). Stage (b): causalize with weight transfer and fine-tune with Diffusion "
        "Forcing, actions and per-frame action dropout. Checkpoints (safetensors) and metrics.csv go to "
        "--work-dir; --resume continues after a kill.",
    )
    parser.add_argument(
        "--recipe",
        type=Path,
        metavar="FILE",
        help="run every step of a model from a recipe file (recipes/*.yaml), resumably; the other options "
        "do not apply (the recipe holds them) except --work-dir and --threads",
    )
    parser.add_argument("--data", type=Path, help="dataset folder (`vid2world dataset`)")
    parser.add_argument("--out", type=Path, help="world-model folder to write")
    parser.add_argument("--base", type=Path, help="pre-trained diffusers U-Net folder: skips stage (a)")
    parser.add_argument(
        "--init",
        type=Path,
        help="world-model folder to fine-tune (e.g. models/reacher on a lab's own bags): skips stage (a), "
        "keeps its action normalisation",
    )
    parser.add_argument(
        "--pretrain-data",
        type=Path,
        nargs="+",
        default=[],
        metavar="DS",
        help="stage (a) learns video from these dataset folders instead of --data (action-free ones too, "
        "e.g. `vid2world collect --domain`; list --data among them to keep it)",
    )
    parser.add_argument("--work-dir", type=Path, help="checkpoints and metrics (default: <out>.training)")
    add_setting_options(parser, TrainConfig, TRAINING_SETTINGS, flags=TRAIN_FLAGS)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --work-dir")
    parser.add_argument("--force", action="store_true", help="discard a run in --work-dir and start over")
    parser.add_argument(
        "--export-latest",
        action="store_true",
        help="only write --out from the newest transfer checkpoint in --work-dir (a run may go on)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..training import export_latest, train

    set_torch_threads(args.threads)
    if args.recipe is not None:
        return _run_recipe(args)
    for flag, value in (("--data", args.data), ("--out", args.out)):
        if value is None:
            raise ValueError(f"{flag} is required (or --recipe FILE).")
    for name in ("base", "init"):
        path = getattr(args, name)
        if path is not None and not path.is_dir():
            raise ValueError(f"--{name} {str(path)!r} does not exist or is not a folder.")
    config = from_args(
        TrainConfig, args, TRAINING_SETTINGS, flags=TRAIN_FLAGS,
        data=args.data, out=args.out, base=args.base, init=args.init, work_dir=args.work_dir,
        pretrain_data=tuple(args.pretrain_data),
    )
    if args.export_latest:
        exported = export_latest(config)
        print(json.dumps(exported) if args.json else
              f"vid2world train: wrote {exported['out']} from {exported['checkpoint']}")
        return 0
    summary = train(config, resume=args.resume, force=args.force)
    if args.json:
        # One line per process under `accelerate launch`, written in one call so lines do not interleave.
        sys.stdout.write(json.dumps(summary) + "\n")
        sys.stdout.flush()
    elif summary["rank"] == 0:
        print(f"vid2world train: wrote {summary['out']} in {summary['seconds']:.0f} s "
              f"(checkpoints and metrics in {summary['work_dir']})")
    return 0


def _run_recipe(args: argparse.Namespace) -> int:
    from ..recipe.recipe_runner import run_recipe

    given = [flag for flag, value in (("--data", args.data), ("--out", args.out), ("--base", args.base),
                                      ("--init", args.init), ("--pretrain-data", args.pretrain_data or None))
             if value is not None]
    if given or args.resume or args.force or args.export_latest:
        given += [f for f, v in (("--resume", args.resume), ("--force", args.force),
                                 ("--export-latest", args.export_latest)) if v]
        raise ValueError(f"{', '.join(given)}: not with --recipe (the recipe holds its steps' settings; "
                         "running it again resumes it).")
    def report(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    summary = run_recipe(args.recipe, args.work_dir, report=report)
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"vid2world train: recipe {args.recipe} finished in {summary['seconds']:.0f} s"
              + (f"; published {summary['published']}" if summary["published"] else "")
              + f" (steps in {summary['work_dir']})")
    return 0
