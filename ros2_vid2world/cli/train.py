"""`vid2world train`: pre-train a video diffusion base on a dataset, then the Vid2World transfer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..world_model.presets import BASE_PRESETS
from .torch_threads import set_torch_threads

DEFAULTS = dict(pretrain_steps=2000, steps=4000, clip_frames=6, batch_size=8, learning_rate=2e-4)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "train",
        help="train a world model from a dataset (runs under `accelerate launch` too)",
        description="Stage (a): action-free, bidirectional video diffusion on the dataset's video "
        "(skipped with --base). Stage (b): causalize with weight transfer and fine-tune with Diffusion "
        "Forcing, actions and per-frame action dropout. Checkpoints (safetensors) and metrics.csv go to "
        "--work-dir; --resume continues after a kill.",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (`vid2world dataset`)")
    parser.add_argument("--out", type=Path, required=True, help="world-model folder to write")
    parser.add_argument("--base", type=Path, help="pre-trained diffusers U-Net folder: skips stage (a)")
    parser.add_argument(
        "--init",
        type=Path,
        help="world-model folder to fine-tune (e.g. models/reacher on a lab's own bags): skips stage (a), "
        "keeps its action normalisation",
    )
    parser.add_argument("--preset", choices=sorted(BASE_PRESETS), default="demo", help="architecture for (a)")
    parser.add_argument("--work-dir", type=Path, help="checkpoints and metrics (default: <out>.training)")
    parser.add_argument("--pretrain-steps", type=int, default=DEFAULTS["pretrain_steps"])
    parser.add_argument("--steps", type=int, default=DEFAULTS["steps"], help="transfer steps")
    parser.add_argument("--clip-frames", type=int, default=DEFAULTS["clip_frames"])
    parser.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="per process")
    parser.add_argument("--lr", type=float, default=DEFAULTS["learning_rate"], help="transfer learning rate")
    parser.add_argument("--pretrain-lr", type=float, default=DEFAULTS["learning_rate"])
    parser.add_argument("--warmup-steps", type=int, default=100)
    parser.add_argument("--grad-clip", type=float, default=1.0)
    parser.add_argument("--ema-decay", type=float, default=0.999)
    parser.add_argument("--action-dropout", type=float, default=0.2)
    parser.add_argument(
        "--action-lr-scale",
        type=float,
        default=1.0,
        help="learning rate of the (new, zero-initialised) action embedding relative to --lr (default 1)",
    )
    parser.add_argument(
        "--clean-context-prob",
        type=float,
        default=0.0,
        help="share of transfer clips noised as a planner sees them: a clean past, then noisy frames "
        "(default 0: plain Diffusion Forcing)",
    )
    parser.add_argument(
        "--terminal-prob",
        type=float,
        default=0.0,
        help="in those clips, the share of noisy frames at the last (pure-noise) level, where sampling "
        "starts (default 0)",
    )
    parser.add_argument("--prediction-type", choices=["epsilon", "v_prediction"], default="v_prediction")
    parser.add_argument(
        "--weight-transfer", choices=["extrapolative", "masked", "shift"], default="extrapolative"
    )
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--holdout-episodes", type=int, default=2, help="episodes kept out of training")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument("--seed", type=int, default=0)
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
    from ..training import TrainConfig, export_latest, train

    set_torch_threads(args.threads)
    for name in ("base", "init"):
        path = getattr(args, name)
        if path is not None and not path.is_dir():
            raise ValueError(f"--{name} {str(path)!r} does not exist or is not a folder.")
    config = TrainConfig(
        data=args.data, out=args.out, base=args.base, init=args.init, preset=args.preset,
        work_dir=args.work_dir,
        pretrain_steps=args.pretrain_steps, steps=args.steps, clip_frames=args.clip_frames,
        batch_size=args.batch_size, learning_rate=args.lr, pretrain_learning_rate=args.pretrain_lr,
        warmup_steps=args.warmup_steps, grad_clip=args.grad_clip, ema_decay=args.ema_decay,
        action_dropout=args.action_dropout, action_lr_scale=args.action_lr_scale,
        clean_context_prob=args.clean_context_prob,
        terminal_prob=args.terminal_prob,
        prediction_type=args.prediction_type,
        weight_transfer=args.weight_transfer, checkpoint_every=args.checkpoint_every,
        holdout_episodes=args.holdout_episodes, seed=args.seed,
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
