"""`vid2world causalize`: write a world-model folder from a base video U-Net."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..choices import ACTION_SPACES, PREDICTION_TYPES, WEIGHT_TRANSFERS
from ..world_model.action_space import DEFAULT_ACTION_SPACE, DEFAULT_CONTROL_PERIOD, check_control_period
from ..world_model.noise_schedule import BETA_SCHEDULES
from ..world_model.presets import BASE_PRESETS


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "causalize",
        help="turn a video diffusion U-Net into a causal, action-conditioned world model",
        description="Write a loadable world-model folder from a local diffusers U-Net folder (--base) "
        "or a named random-init architecture (--preset).",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--base", type=Path, help="diffusers U-Net folder, or pipeline folder with unet/ (and vae/)"
    )
    source.add_argument("--preset", choices=sorted(BASE_PRESETS), help="random-init base architecture")
    parser.add_argument("--action-dim", type=int, required=True, help="size of one action vector")
    parser.add_argument(
        "--weight-transfer",
        choices=WEIGHT_TRANSFERS,
        default="extrapolative",
        help="how temporal kernels become causal (default: extrapolative)",
    )
    parser.add_argument(
        "--prediction-type",
        choices=PREDICTION_TYPES,
        help="what the model predicts (default: the base scheduler's, v_prediction for Stable Video "
        "Diffusion; else epsilon)",
    )
    parser.add_argument(
        "--beta-schedule",
        choices=BETA_SCHEDULES,
        default=None,
        help="DDIM noise schedule (default: scaled_linear for --base, squaredcos_cap_v2 for --preset); "
        "a base with its own EDM scheduler (Stable Video Diffusion) keeps it",
    )
    parser.add_argument(
        "--added-time-ids",
        type=float,
        nargs=3,
        metavar=("FPS", "MOTION_BUCKET", "NOISE_AUG"),
        default=(6.0, 127.0, 0.02),
        help="the fixed micro-conditioning of Stable Video Diffusion's U-Net, saved with the model: frame "
        "rate id (fps - 1), motion bucket, and noise augmentation (also the conditioning frame's noise) "
        "(default: 6 127 0.02, the pipeline's defaults)",
    )
    parser.add_argument(
        "--max-frames",
        type=int,
        default=None,
        help="context window in frames (default: the base U-Net's num_frames)",
    )
    parser.add_argument(
        "--control-period",
        type=float,
        default=DEFAULT_CONTROL_PERIOD,
        help="seconds of the world per model step, recorded in the folder "
        f"(default {DEFAULT_CONTROL_PERIOD}; `vid2world train` records its dataset's)",
    )
    parser.add_argument(
        "--action-space",
        choices=ACTION_SPACES,
        default=DEFAULT_ACTION_SPACE,
        help=f"what an action is, recorded in the folder (default {DEFAULT_ACTION_SPACE})",
    )
    parser.add_argument(
        "--embedding-scale",
        action="store_true",
        help="also scale every ResBlock's normalised features by the frame embedding (noise level and "
        "action; FiLM layers that start at zero): for actions that move small things",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of a --preset's random weights")
    parser.add_argument("--out", type=Path, required=True, help="world-model folder to write")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..world_model.base_pipeline import BaseModel, load_base
    from ..world_model.causalization import folder_from_base
    from ..world_model.presets import PATCH_SIZES, base_unet_from_preset

    if args.out.exists() and not args.force:
        raise ValueError(f"--out {str(args.out)!r} already exists; pass --force to replace it.")
    check_control_period(args.control_period, "--control-period")
    if args.base is not None:
        base, patch_size, beta_schedule = load_base(args.base), 1, args.beta_schedule
    else:
        base = BaseModel(unet=base_unet_from_preset(args.preset, seed=args.seed))
        patch_size, beta_schedule = PATCH_SIZES[args.preset], args.beta_schedule or "squaredcos_cap_v2"
    extra = {} if args.max_frames is None else {"max_frames": args.max_frames}
    folder = folder_from_base(
        base,
        action_dim=args.action_dim,
        weight_transfer=args.weight_transfer,
        prediction_type=args.prediction_type,
        beta_schedule=beta_schedule,
        patch_size=patch_size,
        control_period=args.control_period,
        action_space=args.action_space,
        added_time_ids=tuple(args.added_time_ids),
        embedding_scale=args.embedding_scale,
        **extra,
    )
    model = folder.model
    folder.save(args.out)
    manifest = folder.manifest()
    print(
        f"wrote {args.out}: action_dim={manifest['action_dim']} image_size={manifest['image_size']} "
        f"max_frames={manifest['max_frames']} weight_transfer={args.weight_transfer} "
        f"parameters={sum(p.numel() for p in model.parameters()):,}"
    )
    return 0
